"""Exactly once through the real `run` command: crashes, concurrent runs, repeated runs."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ndjson2parquet.sample.generator import generate
from ndjson2parquet.state.sqlite import SqliteStore
from tests.support.lake import cli, input_event_ids, output_event_ids, stray_files

SMALL_BATCHES = ["--max-files", "8", "--workers", "2", "--grace-hours", "0"]
CRASHY_BATCHES = ["--max-files", "3", "--workers", "2", "--grace-hours", "0"]  # many commits: many crash points


def _committed_outputs(state: Path) -> set[str]:
    store = SqliteStore(state)
    try:
        return {path for m in _all_manifests(store) if m.state == "SUCCEEDED" for path in m.outputs}
    finally:
        store.close()


def _all_manifests(store: SqliteStore):  # type: ignore[no-untyped-def]
    rows = store._read("SELECT manifest_id FROM manifests")
    return [store.get_manifest(r[0]) for r in rows]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    generate(tmp_path / "in", files=120, records=6000, days=2, seed=7, gzip_ratio=0.25)
    return tmp_path / "in"


def test_end_to_end_every_record_lands_once_in_its_date_partition(landing: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    result = cli("run", "--input", str(landing), "--output", str(lake), "--json", *SMALL_BATCHES)
    report = json.loads(result.stdout)
    assert output_event_ids(lake) == input_event_ids(landing)
    assert report["rows_written"] == 6000 and report["files"] == 120
    import pyarrow.dataset as ds

    table = ds.dataset(lake, format="parquet", partitioning="hive", exclude_invalid_files=True).to_table(
        columns=["ts", "date"]
    )
    for ts, date in zip(table.column("ts").to_pylist(), table.column("date").to_pylist(), strict=True):
        assert ts.startswith(str(date)[:10])


def test_second_run_writes_and_rewrites_nothing(landing: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    cli("run", "--input", str(landing), "--output", str(lake), *SMALL_BATCHES)
    before = {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")}
    again = json.loads(cli("run", "--input", str(landing), "--output", str(lake), "--json", *SMALL_BATCHES).stdout)
    assert {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")} == before
    assert again["ingest"]["new"] == 0 and again["rows_written"] == 0


def test_two_concurrent_runs_on_one_landing_zone_output_each_record_once(landing: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    args = [sys.executable, "-m", "ndjson2parquet", "run", "--input", str(landing), "--output", str(lake)]
    (lake / "_state").mkdir(parents=True)
    runs = [subprocess.Popen([*args, *SMALL_BATCHES], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()
    assert output_event_ids(lake) == input_event_ids(landing)
    assert stray_files(lake, _committed_outputs(lake / "_state" / "state.db")) == []


@pytest.mark.slow
def test_sigkill_at_random_points_then_recover_and_run_gives_every_record_once(landing: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    state = lake / "_state" / "state.db"
    rng = random.Random(20261125)
    args = [sys.executable, "-m", "ndjson2parquet", "run", "--input", str(landing), "--output", str(lake)]
    # a killed run's manifests are requeued once its owner record expires: a short life for these runs
    ttl = 2.0
    killed_env = {**os.environ, "NDJSON2PARQUET_OWNER_TTL_SECONDS": str(ttl)}
    kills = 0
    for i in range(40):  # until 20 runs were killed mid-way
        # new files keep landing, so every run has work to be killed in the middle of
        generate(landing / f"wave{i}", files=200, records=60_000, days=2, seed=100 + i, gzip_ratio=0.25)
        child = subprocess.Popen(
            [*args, *CRASHY_BATCHES], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=killed_env
        )
        # the kill lands at a random point of the run's own work, however long start-up takes on a busy machine
        deadline = time.monotonic() + 60
        while not state.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.8))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            kills += 1
        child.wait()
        if rng.random() < 0.5 and state.exists():
            cli("recover", "--state", str(state))
        if kills == 20:
            break
    assert kills >= 20, f"only {kills} runs were still going when killed: make the data set larger"
    time.sleep(ttl + 0.5)  # the last killed run's owner record has expired
    cli("recover", "--state", str(state))
    cli("run", "--input", str(landing), "--output", str(lake), *SMALL_BATCHES)
    assert output_event_ids(lake) == input_event_ids(landing)
    assert stray_files(lake, _committed_outputs(state)) == []
