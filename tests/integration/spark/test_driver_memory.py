"""A manifest several times spark.driver.memory converts, and the driver does not hold it.

The conversion runs in a child process whose JVM driver has 64 MiB of heap; its Python driver's peak
RSS after converting about 208 MiB of input is compared with its peak after a 8 MiB manifest: the
input stays on the executors (here the local Python workers), the driver only gets summaries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = Path(__file__).with_name("driver_memory_child.py")
FILES, MIB_EACH = 4, 52  # about 208 MiB of input: over three times the driver's 64 MiB


def test_a_manifest_several_times_the_driver_memory_converts_without_the_driver_holding_it(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    done = subprocess.run(
        [sys.executable, str(CHILD), str(tmp_path), str(FILES), str(MIB_EACH)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    big, small = report["big"], report["small"]
    assert report["driver_memory"] == "64m"
    assert big["bytes_in"] >= 3 * 64 * 1024 * 1024
    assert big["rows"] > 10 * small["rows"] and big["parts"] == FILES  # each file a file group and a part
    grown_mib = (big["peak_kib"] - small["peak_kib"]) / 1024
    assert grown_mib < 48, f"the driver's peak RSS grew by {grown_mib:.0f} MiB for {big['bytes_in'] >> 20} MiB of input"
