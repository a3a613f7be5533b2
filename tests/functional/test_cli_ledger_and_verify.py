"""`ledger` and `verify` on a lake with bad lines, a corrupt file and a clean file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from ndjson2parquet.cli.main import cli


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def _lake(tmp_path: Path) -> tuple[Path, Path]:
    day = tmp_path / "in" / "2026-11-25"
    day.mkdir(parents=True)
    (day / "good.ndjson").write_text('{"a": 1}\n\n{"a": 2}\r\n')
    (day / "bad.ndjson").write_text('{"a": 3}\nnot json\n[1, 2]\n{"a": 4}')
    whole = gzip.compress(b"".join(b'{"a": %d}\n' % i for i in range(1000)))
    (day / "broken.ndjson.gz").write_bytes(whole[: len(whole) // 2])  # truncated mid-stream
    lake = tmp_path / "lake"
    result = invoke("run", "--input", str(tmp_path / "in"), "--output", str(lake), "--json", "--lineage")
    assert result.exit_code == 3, result.output  # the corrupt file ended REJECTED
    return lake, day


def test_run_report_shows_the_ledger_and_the_rejected_file(tmp_path: Path) -> None:
    lake, _ = _lake(tmp_path)
    (report_path,) = (lake / "_reports").glob("run-*.json")
    report = json.loads(report_path.read_text())
    assert report["ledger"] == {"lines": 7, "blank": 1, "rows_written": 4, "rows_quarantined": 2, "balanced": True}
    assert [r["uri"].rsplit("/", 1)[1] for r in report["rejected_files"]] == ["broken.ndjson.gz"]
    assert "gzip" in report["rejected_files"][0]["reason"]


def test_status_lists_the_rejected_file_with_its_reason(tmp_path: Path) -> None:
    lake, day = _lake(tmp_path)
    state = str(lake / "_state" / "state.db")
    snapshot = json.loads(invoke("status", "--state", state, "--json").output)
    assert snapshot["files"]["REJECTED"] == 1
    (rejected,) = snapshot["rejected"]
    assert rejected["uri"] == str(day / "broken.ndjson.gz") and "gzip" in rejected["reason"]
    text = invoke("status", "--state", state).output
    assert f"REJECTED (set aside whole): {day / 'broken.ndjson.gz'}: {rejected['reason']}\n" in text


def test_ledger_says_where_each_line_of_a_file_went(tmp_path: Path) -> None:
    lake, day = _lake(tmp_path)
    state = str(lake / "_state" / "state.db")
    out = json.loads(invoke("ledger", str(day / "bad.ndjson"), "--state", state, "--json").output)
    (version,) = out["versions"]
    assert (version["lines"], version["blank"], version["rows_written"], version["rows_quarantined"]) == (4, 0, 2, 2)
    assert version["state"] == "DONE" and version["balanced"]
    (part,) = version["outputs"]
    rows = pq.read_table(part).to_pylist()
    assert sorted(r["a"] for r in rows if r["_source_file"].endswith("bad.ndjson")) == [3, 4]
    broken = json.loads(invoke("ledger", str(day / "broken.ndjson.gz"), "--state", state, "--json").output)
    assert broken["versions"][0]["state"] == "REJECTED" and broken["versions"][0]["rejection"]
    text = invoke("ledger", str(day / "good.ndjson"), "--state", state).output
    assert "3 line(s) = 1 blank + 2 written + 0 quarantined" in text


def test_ledger_of_an_unknown_file_is_a_one_line_error(tmp_path: Path) -> None:
    lake, _ = _lake(tmp_path)
    result = invoke("ledger", str(tmp_path / "nope.ndjson"), "--state", str(lake / "_state" / "state.db"))
    assert result.exit_code == 1 and result.stderr.startswith("error: no file")


def test_verify_confirms_every_line_is_accounted_for(tmp_path: Path) -> None:
    lake, _ = _lake(tmp_path)
    result = invoke("verify", "--state", str(lake / "_state" / "state.db"), "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["ok"] and report["files_checked"] == 3 and report["lines"] == 7


def test_verify_reports_a_tampered_lake(tmp_path: Path) -> None:
    lake, day = _lake(tmp_path)
    (day / "good.ndjson").write_text('{"a": 1}\n{"a": 2}\n{"a": 9}\n')  # input changed after conversion
    quarantine = next((lake / "_quarantine").rglob("*.ndjson"))
    quarantine.write_text(quarantine.read_text().splitlines()[0] + "\n")  # a quarantined line lost
    result = invoke("verify", "--state", str(lake / "_state" / "state.db"))
    assert result.exit_code == 1
    assert "good.ndjson: cannot be verified: its first 20 bytes changed since they were converted" in result.output
    assert "bad.ndjson: ledger says 2 quarantined, quarantine file holds 1" in result.output


def test_verify_reports_a_part_copied_in_the_local_lake(tmp_path: Path) -> None:
    lake, _ = _lake(tmp_path)
    [part] = (lake / "default").rglob("part-*.parquet")
    copy = part.with_name("copy-of-a-part.parquet")
    copy.write_bytes(part.read_bytes())  # a reader of the folder now reads its rows twice
    (part.parent / "_ignored.parquet").write_bytes(b"")  # `_` names are skipped by readers: not reported
    result = invoke("verify", "--state", str(lake / "_state" / "state.db"))
    assert result.exit_code == 1
    assert result.output.count("not a part of any committed manifest") == 1
    assert f"{copy}: in the lake but not a part of any committed manifest" in result.output


def test_verify_agrees_with_the_engine_that_a_form_feed_line_is_no_blank(tmp_path: Path) -> None:
    day = tmp_path / "in" / "2026-11-25"
    day.mkdir(parents=True)
    (day / "ff.ndjson").write_bytes(b'{"a": 1}\n\x0c\n \t\n\x0b\r\n{"a": 2}\n')
    lake = tmp_path / "lake"
    state = str(lake / "_state" / "state.db")
    assert invoke("run", "--input", str(tmp_path / "in"), "--output", str(lake)).exit_code == 0
    (version,) = json.loads(invoke("ledger", str(day / "ff.ndjson"), "--state", state, "--json").output)["versions"]
    assert (version["lines"], version["blank"], version["rows_written"], version["rows_quarantined"]) == (5, 1, 2, 2)
    result = invoke("verify", "--state", state, "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["ok"] and report["lines"] == 5 and report["rows_quarantined"] == 2
