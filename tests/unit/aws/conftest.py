"""The handlers route the package's loggers through Powertools (handlers replaced, propagation off):
put them back after each test, or later tests in this process (caplog) would not see their logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_package_logger() -> Iterator[None]:
    logger = logging.getLogger("ndjson2parquet")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers, logger.propagate, logger.level = saved[0], saved[1], saved[2]
