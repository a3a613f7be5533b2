"""`watch`: converts files as they land, honours max-wait, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from ndjson2parquet.sample.generator import generate
from tests.support.lake import input_event_ids, output_event_ids


def _wait_for(predicate, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_watch_converts_files_landing_while_it_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    landing, lake = tmp_path / "in", tmp_path / "lake"
    landing.mkdir()
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ndjson2parquet",
            "watch",
            "--input",
            str(landing),
            "--output",
            str(lake),
            "--poll",
            "0.2",
            "--max-wait",
            "0.5",
            "--max-files",
            "1000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        generate(landing / "first", files=5, records=200, days=1, seed=1)
        assert _wait_for(lambda: output_event_ids(lake) == input_event_ids(landing)), "first wave not converted"
        generate(landing / "second", files=5, records=300, days=1, seed=2)
        assert _wait_for(lambda: output_event_ids(lake) == input_event_ids(landing)), "second wave not converted"
    finally:
        watcher.send_signal(signal.SIGTERM)
        out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err


def _line_counts(lake: Path) -> dict[int, int]:
    import pyarrow.parquet as pq

    counts: dict[int, int] = {}
    for part in lake.rglob("part-*.parquet"):
        for n in pq.read_table(part, columns=["n"]).column("n").to_pylist():
            counts[n] = counts.get(n, 0) + 1
    return counts


def test_watch_lands_each_line_of_a_file_written_line_by_line_once(tmp_path: Path) -> None:
    landing, lake = tmp_path / "in" / "2026-11-25", tmp_path / "lake"
    landing.mkdir(parents=True)
    path = landing / "growing.ndjson"
    path.write_bytes(b"")
    watcher = subprocess.Popen(
        [
            *(sys.executable, "-m", "ndjson2parquet", "watch", "--input", str(tmp_path / "in"), "--output", str(lake)),
            *("--poll", "0.1", "--max-wait", "0", "--settle-seconds", "0.5"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(lambda: (lake / "_state" / "state.db").exists()), "watch did not start"
        time.sleep(1.0)  # polling by now (before the fix, this wrote some 300 rows for 30 lines)
        for n in range(1, 31):
            with path.open("ab") as handle:
                handle.write(b'{"n": %d}\n' % n)
            time.sleep(0.1)
        assert _wait_for(lambda: len(_line_counts(lake)) == 30), "the file was not converted"
        time.sleep(1.0)  # a second conversion of the same lines would land now
    finally:
        watcher.send_signal(signal.SIGTERM)
        _, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err
    assert _line_counts(lake) == {n: 1 for n in range(1, 31)}
