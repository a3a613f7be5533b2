"""Building the SparkSession the engine runs on when none is injected (``local[N]`` by default)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from ...domain.errors import ConfigError

#: what the engine sets unless told otherwise: no Spark UI (a CLI run needs none), Arrow for any
#: DataFrame, adaptive execution; executors run this Python with this package importable
DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.adaptive.enabled": "true",
}


def default_master() -> str:
    """``local[N]``, N the cores of this machine."""
    return f"local[{os.cpu_count() or 1}]"


def parse_conf(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``K=V`` strings as a dict; a pair without ``=`` or with an empty key is a ``ConfigError``."""
    conf: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--spark-conf expects KEY=VALUE, got {pair!r}")
        conf[key.strip()] = value
    return conf


def build_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> Any:
    """A SparkSession on ``master`` (default ``local[N]``) with ``conf`` over the engine's defaults.

    On a local master the executors' Python workers are this interpreter with this process's import
    path, so they run the very code the driver runs (a cluster installs the package on its nodes).
    """
    try:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError("the spark engine needs pyspark: pip install 'ndjson2parquet[spark]'") from exc
    master = master or default_master()
    settings = {**DEFAULTS, **(conf or {})}
    if master.startswith("local"):
        settings.setdefault("spark.pyspark.python", sys.executable)
        settings.setdefault("spark.pyspark.driver.python", sys.executable)
        path = os.pathsep.join(os.path.abspath(p) for p in sys.path if p and os.path.isdir(p))
        settings.setdefault("spark.executorEnv.PYTHONPATH", path)
    builder = SparkSession.builder.master(master).appName("ndjson2parquet")
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except (PySparkException, Py4JError) as exc:  # no Java, a bad master URL or setting
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot start Spark on {master}: {first}") from exc
