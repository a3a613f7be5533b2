"""One local SparkSession per test process (a JVM takes seconds to start): local[2], few shuffle
partitions, no UI, built on first use and stopped when the process exits."""

from __future__ import annotations

import atexit
from typing import Any

from ndjson2parquet.conversion.spark.session import build_session

#: the tests' Spark settings: two cores, a small driver, no UI
TEST_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.python.worker.reuse": "true",
    "spark.ui.showConsoleProgress": "false",
}

_session: Any = None


def shared_session() -> Any:
    """The process's SparkSession on local[2]."""
    global _session
    if _session is None:
        _session = build_session("local[2]", TEST_CONF)
        _session.sparkContext.setLogLevel("ERROR")
        atexit.register(_session.stop)
    return _session
