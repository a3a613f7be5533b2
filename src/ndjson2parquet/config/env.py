"""Every environment variable the package reads, by name, in one place. Only entry points call this."""

from __future__ import annotations

import os
from collections.abc import Mapping

LOG_LEVEL = "LOG_LEVEL"
LOG_FORMAT = "NDJSON2PARQUET_LOG_FORMAT"
STATE = "NDJSON2PARQUET_STATE"
SETTLE_SECONDS = "NDJSON2PARQUET_SETTLE_SECONDS"
OWNER_TTL_SECONDS = "NDJSON2PARQUET_OWNER_TTL_SECONDS"
# AWS deployment (aws/ handlers): where the lake and the quarantine are, and the workflow to start
LAKE = "NDJSON2PARQUET_LAKE"
QUARANTINE = "NDJSON2PARQUET_QUARANTINE"
STATE_MACHINE_ARN = "NDJSON2PARQUET_STATE_MACHINE_ARN"
METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"  # Powertools' own name, read here so an argument beats it
SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"


def read(name: str, default: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The variable's value, or `default` when unset or empty."""
    value = (environ if environ is not None else os.environ).get(name)
    return value if value else default
