"""Through the CLI: files rejected for their content are set aside in the quarantine, `status` and the
run report say where, `verify` checks the copies are there, and `retry --rejected` still converts a
file fixed in the landing zone."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from click.testing import CliRunner

from ndjson2parquet.cli.main import cli

DAY = "2025-01-02"
CORRUPT = gzip.compress(b'{"a": 1}\n' * 30)[:-10]
WIDE = '{"a": 2}\n'.encode("utf-16-le")  # no byte order mark: told by its NUL-padded ASCII


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def _landing(tmp_path: Path) -> Path:
    day = tmp_path / "in" / DAY
    day.mkdir(parents=True)
    (day / "ok.ndjson").write_bytes(b'{"a": 0}\n')
    (day / "bad.ndjson.gz").write_bytes(CORRUPT)
    (day / "wide.ndjson").write_bytes(WIDE + WIDE)
    return day


def test_a_run_sets_aside_its_rejected_files_and_verify_reports_a_missing_copy(tmp_path: Path) -> None:
    day = _landing(tmp_path)
    run = invoke("run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "lake"))
    assert run.exit_code == 3, run.output
    folder = tmp_path / "lake" / "_quarantine" / "default" / f"date={DAY}" / "_rejected"
    copies = {p.name: p for p in folder.glob("*/*")}
    assert sorted(copies) == [
        "bad.ndjson.gz",
        "bad.ndjson.gz.rejected.json",
        "wide.ndjson",
        "wide.ndjson.rejected.json",
    ]
    assert copies["bad.ndjson.gz"].read_bytes() == CORRUPT and copies["wide.ndjson"].read_bytes() == WIDE + WIDE
    assert json.loads(copies["wide.ndjson.rejected.json"].read_text())["reason"].startswith(
        "undecodable encoding: UTF-16"
    )

    state = str(tmp_path / "lake" / "_state" / "state.db")
    status = json.loads(invoke("status", "--state", state, "--json").stdout)
    reasons = {Path(r["uri"]).name: r["reason"] for r in status["rejected"]}
    assert reasons["bad.ndjson.gz"].endswith(f"(set aside: {copies['bad.ndjson.gz']})")
    record = next((tmp_path / "lake" / "_manifests" / "default").rglob("*.json")).read_text()
    assert str(copies["wide.ndjson"]) in record  # the commit record names the copies too
    assert invoke("verify", "--state", state).exit_code == 0

    copies["bad.ndjson.gz"].unlink()
    checked = invoke("verify", "--state", state)
    assert checked.exit_code == 1
    assert f"its set-aside copy {copies['bad.ndjson.gz']} is missing" in checked.output

    # fixed in the landing zone: a new version, which the next run registers and converts (`retry
    # --rejected` would put back the old version too, which then ends REJECTED as changed or superseded
    # depending on whether the listing or the planner reaches it first)
    (day / "wide.ndjson").write_bytes(b'{"a": 2}\n')
    (day / "bad.ndjson.gz").write_bytes(gzip.compress(b'{"a": 1}\n'))
    again = invoke("run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "lake"))
    assert again.exit_code == 0, again.output
