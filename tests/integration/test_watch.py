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
