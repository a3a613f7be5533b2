"""The command line runs CPython's cycle collector rarely (`gc_policy`): on 100,000 small files the
default thresholds cost 3.8 s of a 26 s run, all of it holding the GIL."""

from __future__ import annotations

import gc
from collections.abc import Iterator

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
