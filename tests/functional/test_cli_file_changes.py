"""Files that change, through the command line: `run` twice, `ledger`, `status`, `verify`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ndjson2parquet.cli.main import cli


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def _run(tmp_path: Path, *options: str, exit_status: int = 0) -> dict:  # type: ignore[type-arg]
    result = invoke("run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "lake"), "--json", *options)
    assert result.exit_code == exit_status, result.output
    return json.loads(result.stdout)


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in" / "2026-11-25" / "a.ndjson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_ledger_shows_the_byte_ranges_of_a_file_converted_in_two_parts(tmp_path: Path) -> None:
    path = _file(tmp_path, '{"a": 1}\n{"a": 2}\n')
    _run(tmp_path)
    with path.open("a") as handle:
        handle.write('{"a": 3}\n')
    assert _run(tmp_path)["ingest"]["continued"] == 1
    state = str(tmp_path / "lake" / "_state" / "state.db")
    versions = json.loads(invoke("ledger", str(path), "--state", state, "--json").stdout)["versions"]
    assert [(v["start_offset"], v["end_offset"], v["first_line"], v["lines"]) for v in versions] == [
        (0, 18, 1, 2),
        (18, 27, 3, 1),
    ]
    assert all(v["digest"] and v["state"] == "DONE" for v in versions)
    assert "bytes 18–27, lines 3–3" in invoke("ledger", str(path), "--state", state).output
    assert invoke("verify", "--state", state).exit_code == 0


def test_a_rewritten_file_is_in_the_run_report_and_in_status(tmp_path: Path) -> None:
    path = _file(tmp_path, '{"a": 1}\n{"a": 2}\n')
    _run(tmp_path)
    path.write_text('{"a": 7}\n')
    report = _run(tmp_path, exit_status=4)  # changed input files reported
    assert report["ingest"]["changed"] == [
        {"uri": str(path), "reason": "truncated: 9 bytes, 18 were converted", "action": "reported, not converted"}
    ]
    state = str(tmp_path / "lake" / "_state" / "state.db")
    status = json.loads(invoke("status", "--state", state, "--json").stdout)
    reason = report["ingest"]["changed"][0]["reason"]
    assert status["changed"] == [{"uri": str(path), "date": "2026-11-25", "reason": reason}]
    assert status["files"]["CHANGED"] == 1
    assert "CHANGED since conversion" in invoke("status", "--state", state).output


def test_run_converts_a_changed_file_as_a_new_version_when_asked(tmp_path: Path) -> None:
    path = _file(tmp_path, '{"a": 1}\n{"a": 2}\n')
    _run(tmp_path)
    path.write_text('{"a": 7}\n')
    report = _run(tmp_path, "--on-changed", "new-version", exit_status=4)  # reported, though converted
    assert report["ingest"]["changed"][0]["action"] == "converted as a new version"
    assert report["rows_written"] == 1


def test_run_waits_for_a_file_that_is_still_settling(tmp_path: Path) -> None:
    _file(tmp_path, '{"a": 1}\n')
    report = _run(tmp_path, "--settle-seconds", "0.3")
    assert report["rows_written"] == 1 and report["ingest"]["unsettled"] == []
