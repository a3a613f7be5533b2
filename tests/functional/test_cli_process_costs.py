"""What the command line costs a process before and beside the work: CPython's cycle collector runs
rarely (`gc_policy`: on 100,000 small files the default thresholds cost 3.8 s of a 26 s run, all of it
holding the GIL), and a run imports only what it uses."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ndjson2parquet.cli.main import main
from ndjson2parquet.gc_policy import MIDDLE_THRESHOLD, OLD_THRESHOLD, YOUNG_THRESHOLD


@pytest.fixture
def default_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


@pytest.mark.usefixtures("default_thresholds")
def test_the_command_line_makes_the_cycle_collector_run_rarely() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)


def test_an_arrow_run_imports_neither_the_cost_model_nor_the_spark_engine(tmp_path: Path) -> None:
    day = tmp_path / "in" / "2026-04-01"
    day.mkdir(parents=True)
    (day / "a.ndjson").write_text('{"a": 1}\n')
    script = (
        "import sys\n"
        "from ndjson2parquet.cli.main import main\n"
        "try:\n"
        f"    main(['run', '--input', {str(tmp_path / 'in')!r}, '--output', {str(tmp_path / 'lake')!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = ('ndjson2parquet.cost', 'ndjson2parquet.conversion.spark')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
