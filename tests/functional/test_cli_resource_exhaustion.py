"""A full disk through the command line: one clear line, exit 1, nothing spent; the next `run` finishes."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from ndjson2parquet.cli.main import cli


def test_run_on_a_full_disk_stops_with_one_line_and_the_next_run_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "in" / "2026-11-24"
    landing.mkdir(parents=True)
    for i in range(4):
        (landing / f"{i}.ndjson").write_text("".join(f'{{"file": {i}, "n": {n}}}\n' for n in range(3)))
    full = [True]
    real = pq.core.ParquetWriter

    class Writer(real):  # type: ignore[misc, valid-type]
        def write_table(self, *args: Any, **kwargs: Any) -> None:
            if full[0]:
                raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left")
            super().write_table(*args, **kwargs)

    monkeypatch.setattr(pq.core, "ParquetWriter", Writer)
    monkeypatch.setattr(pq, "ParquetWriter", Writer)
    monkeypatch.setenv("LOG_LEVEL", "CRITICAL")  # stderr holds only what the user is told
    args = ["run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--max-files", "2"]

    stopped = CliRunner().invoke(cli, args)
    assert stopped.exit_code == 1
    lines = stopped.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stopped.output + stopped.stderr
    assert lines[0].startswith("error: run stopped, resources exhausted: ")
    assert "No space left on device" in lines[0] and "no attempt was spent" in lines[0]
    state = str(tmp_path / "out" / "_state" / "state.db")
    status = json.loads(CliRunner().invoke(cli, ["status", "--state", state, "--json"]).output)
    assert status["files"]["FAILED"] == 0 and status["manifests"]["FAILED"] == 0

    full[0] = False  # space freed: `run` alone, no `retry`
    finished = CliRunner().invoke(cli, [*args, "--json"])
    assert finished.exit_code == 0, finished.output + finished.stderr
    status = json.loads(CliRunner().invoke(cli, ["status", "--state", state, "--json"]).output)
    assert status["files"]["DONE"] == 4 and status["files"]["FAILED"] == 0
    rows = [row for part in (tmp_path / "out").rglob("part-*.parquet") for row in pq.read_table(part).to_pylist()]
    assert sorted((row["file"], row["n"]) for row in rows) == [(i, n) for i in range(4) for n in range(3)]
