"""`ingest`, `status` and the command line's error contract, through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ndjson2parquet.cli.main import cli


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _landing(root: Path) -> None:
    for day, n in (("2026-11-24", 2), ("2026/11/25", 3)):
        folder = root / day
        folder.mkdir(parents=True)
        for i in range(n):
            (folder / f"{i}.ndjson").write_text('{"a": 1}\n')


def test_help_lists_every_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("run", "watch", "ingest", "status", "recover", "retry", "generate"):
        assert f"  {command} " in result.output


def test_ingest_then_status_json_counts_files_per_state_and_date(tmp_path: Path) -> None:
    _landing(tmp_path / "in")
    state = str(tmp_path / "state.db")
    first = invoke("ingest", "--input", str(tmp_path / "in"), "--state", state, "--json")
    assert json.loads(first.output)["new"] == 5
    again = invoke("ingest", "--input", str(tmp_path / "in"), "--state", state, "--json")
    expected = {"listed": 5, "new": 0, "already_known": 5, "skipped": 0, "late_dates": [], "continued": 0}
    expected |= {"unchanged": 0, "deferred": 0, "unsettled": [], "changed": []}
    counts = {k: json.loads(again.output)[k] for k in expected}
    assert counts == expected
    status = json.loads(invoke("status", "--state", state, "--json").output)
    assert status["files"]["PENDING"] == 5
    assert set(status["manifests"]) == {"CLAIMING", "CREATED", "RUNNING", "SUCCEEDED", "FAILED", "COMPENSATED"}
    assert [(d["date"], d["files"]["PENDING"]) for d in status["dates"]] == [("2026-11-24", 2), ("2026-11-25", 3)]


def test_status_prints_a_table_for_people(tmp_path: Path) -> None:
    _landing(tmp_path / "in")
    state = str(tmp_path / "state.db")
    invoke("ingest", "--input", str(tmp_path / "in"), "--state", state)
    result = invoke("status", "--state", state)
    assert result.exit_code == 0 and "2026-11-25" in result.output and "PENDING" in result.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ingest", "--input", "{tmp}/missing", "--state", "{tmp}/s.db"], 1, "input folder does not exist"),
        (["status", "--state", "{tmp}/missing.db"], 1, "no state file"),
        (["status", "--state", "{tmp}/garbage.db"], 1, "cannot open state file"),
        (["status", "--state", "{tmp}/empty.db"], 1, "not an ndjson2parquet state database"),
        (["ledger", "x.ndjson", "--state", "{tmp}/empty.db"], 1, "not an ndjson2parquet state database"),
        (["verify", "--state", "{tmp}/garbage.db"], 1, "cannot open state file"),
        (["run", "--input", "{tmp}", "--output", "{tmp}/lake"], 1, "the output"),
        (["run", "--input", "{tmp}", "--output", "{tmp}/../o", "--quarantine", "{tmp}/q"], 1, "the quarantine"),
        (["watch", "--input", "{tmp}", "--output", "{tmp}/../o", "--state", "{tmp}/s.db"], 1, "the state"),
        (["ingest", "--input", "{tmp}", "--state", "{tmp}/_state/s.db"], 1, "inside the input folder"),
        (["ingest", "--bogus"], 2, "No such option"),
        (["run", "--input", "{tmp}", "--output", "{tmp}/o", "--workers", "0"], 2, "--workers"),
        (["run", "--input", "{tmp}", "--output", "{tmp}/o", "--compression", "brotli"], 2, "--compression"),
        (["nosuchcommand"], 2, "No such command"),
    ],
)
def test_bad_input_ends_with_one_line_and_a_non_zero_exit(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    (tmp_path / "garbage.db").write_text("this is not sqlite" * 100)
    (tmp_path / "empty.db").write_bytes(b"")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    result = CliRunner().invoke(cli, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.output + result.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before  # nothing made or changed
