"""A lost or emptied state file: `run` refuses instead of converting the landing zone into the lake
again, `recover --from-lake` rebuilds the state from the lake's commit records, and the next run
converts nothing twice."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from ndjson2parquet.cli.main import cli
from ndjson2parquet.sample.generator import generate
from ndjson2parquet.state.sqlite import SqliteStore
from tests.support.lake import input_event_ids, output_event_ids

BATCHES = ["--max-files", "3", "--grace-hours", "0"]


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def _landing(root: Path) -> Counter[str]:
    """Generated files over two days, plus a file with a bad line and a corrupt gzip; the event ids expected."""
    generate(root / "gen", files=10, records=900, days=2, seed=3, gzip_ratio=0.3)
    day = root / "2026-11-25"
    day.mkdir(parents=True)
    (day / "bad.ndjson").write_text('{"event_id": "bad-1"}\nnot json\n\n{"event_id": "bad-2"}\n')
    whole = gzip.compress(b"".join(b'{"event_id": "lost-%d"}\n' % i for i in range(500)))
    (day / "broken.ndjson.gz").write_bytes(whole[: len(whole) // 2])
    return input_event_ids(root / "gen") + Counter(["bad-1", "bad-2"])


def _stored_schema(state: Path) -> tuple[int, str] | None:
    store = SqliteStore(state)
    try:
        return store.get_schema("default")
    finally:
        store.close()


def _snapshot(lake: Path, reports: bool = True) -> dict[str, int]:
    """Every file of the lake (the state aside) with its modification time."""
    skip = {"_state"} if reports else {"_state", "_reports"}
    return {str(p): p.stat().st_mtime_ns for p in lake.rglob("*") if p.is_file() and not skip & set(p.parts)}


def _snapshot_before_reports(snapshot: dict[str, int]) -> dict[str, int]:
    return {p: t for p, t in snapshot.items() if "/_reports/" not in p}


@pytest.mark.parametrize("loss", ["deleted", "emptied"])
def test_a_lost_state_is_refused_then_rebuilt_from_the_lake_and_nothing_is_converted_twice(
    tmp_path: Path, loss: str
) -> None:
    expected = _landing(tmp_path / "in")
    lake, state = tmp_path / "lake", tmp_path / "lake" / "_state" / "state.db"
    args = ["run", "--input", str(tmp_path / "in"), "--output", str(lake), "--json", *BATCHES]
    first = invoke(*args)
    assert first.exit_code == 3, first.output  # the corrupt gzip is REJECTED: exit status 3
    assert output_event_ids(lake) == expected
    records = sorted((lake / "_manifests").rglob("*.json"))
    assert len(records) == json.loads(first.stdout)["manifests"]["SUCCEEDED"] > 3
    before = _snapshot(lake)
    schema = _stored_schema(state)
    assert schema is not None

    if loss == "deleted":
        state.unlink()
    else:
        state.write_bytes(b"")
    refused = invoke(*args)
    assert refused.exit_code == 1
    (line,) = refused.stderr.strip().splitlines()
    assert f"holds {len(records)} committed manifest(s) the state store does not know" in line
    assert "_manifests/default/date=" in line and "recover --from-lake" in line
    assert _snapshot(lake) == before  # nothing converted, nothing removed, no report

    rebuilt = invoke("recover", "--from-lake", "--output", str(lake))
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"from {len(records)} commit record(s): {len(records)} manifest(s) and 12 file(s) restored" in rebuilt.output
    restored = _stored_schema(state)
    assert "schema restored for default" in rebuilt.output and restored is not None and restored[1] == schema[1]
    assert "seals restored for default/2026-11-26" in rebuilt.output  # the clean day (the other has a rejection)

    again = invoke(*args)
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["ingest"]["new"] == 0 and sum(report["manifests"].values()) == 0
    assert output_event_ids(lake) == expected  # every record once
    assert _snapshot(lake, reports=False) == _snapshot_before_reports(before)  # no part or record rewritten
    verified = invoke("verify", "--state", str(state))
    assert verified.exit_code == 0, verified.output
    assert verified.output.count(": OK") == 2 and "1 quarantined" in verified.output  # both days
    status = json.loads(invoke("status", "--state", str(state), "--json").output)
    assert status["files"]["DONE"] == 11 and status["files"]["REJECTED"] == 1
    assert "gzip" in status["rejected"][0]["reason"]


def test_rebuilding_again_restores_nothing_new(tmp_path: Path) -> None:
    _landing(tmp_path / "in")
    lake = tmp_path / "lake"
    assert invoke("run", "--input", str(tmp_path / "in"), "--output", str(lake), *BATCHES).exit_code == 3
    result = invoke("recover", "--from-lake", "--output", str(lake), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["imported"] == 0 and report["known"] == report["records"] > 0


def test_rebuild_into_a_state_holding_other_data_for_the_files_fails_with_one_line(tmp_path: Path) -> None:
    _landing(tmp_path / "in")
    lake, other = tmp_path / "lake", tmp_path / "other"
    assert invoke("run", "--input", str(tmp_path / "in"), "--output", str(lake), *BATCHES).exit_code == 3
    # another lake's state over the same landing zone: the same files, in other manifests
    assert invoke("run", "--input", str(tmp_path / "in"), "--output", str(other), *BATCHES).exit_code == 3
    state = str(other / "_state" / "state.db")
    result = invoke("recover", "--from-lake", "--output", str(lake), "--state", state)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: cannot rebuild from _manifests/default/date=") and "held otherwise" in line


def test_recover_needs_a_state_or_an_output(tmp_path: Path) -> None:
    result = invoke("recover", "--from-lake")
    assert result.exit_code == 1 and "--state or --output is needed" in result.stderr
