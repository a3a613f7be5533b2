"""Every environment variable the package reads, by name, in one place. Only entry points call this."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..domain.errors import ConfigError

LOG_LEVEL = "LOG_LEVEL"
LOG_FORMAT = "NDJSON2PARQUET_LOG_FORMAT"
STATE = "NDJSON2PARQUET_STATE"
SETTLE_SECONDS = "NDJSON2PARQUET_SETTLE_SECONDS"
OWNER_TTL_SECONDS = "NDJSON2PARQUET_OWNER_TTL_SECONDS"
# AWS deployment (aws/ handlers): where the lake and the quarantine are, and the workflow to start
LAKE = "NDJSON2PARQUET_LAKE"
QUARANTINE = "NDJSON2PARQUET_QUARANTINE"
STATE_MACHINE_ARN = "NDJSON2PARQUET_STATE_MACHINE_ARN"  # the manifest workflow the intake and recovery start
GLUE_DATABASE = "NDJSON2PARQUET_GLUE_DATABASE"  # the commit keeps a table per dataset there (unset: none)
METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"  # Powertools' own name, read here so an argument beats it
SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"


def read(name: str, default: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The variable's value, or `default` when unset or empty."""
    value = (environ if environ is not None else os.environ).get(name)
    return value if value else default


# the intake Lambda (aws/handlers/intake.py)
LANDING = "NDJSON2PARQUET_LANDING"  # s3://bucket/prefix the S3 events are for
DATASET = "NDJSON2PARQUET_DATASET"  # the dataset of keys no dataset pattern names
DATASET_PATTERN = "NDJSON2PARQUET_DATASET_PATTERN"  # a regex with a `dataset` group, read from each key
MAX_FILES = "NDJSON2PARQUET_MAX_FILES"  # BatchPolicy.max_files
TARGET_BYTES = "NDJSON2PARQUET_TARGET_BYTES"  # BatchPolicy.target_bytes
GRACE_SECONDS = "NDJSON2PARQUET_GRACE_SECONDS"  # BatchPolicy.grace_period_s

# the scheduled handlers (aws/handlers/recover.py, aws/handlers/seal.py)
MAX_WAIT_SECONDS = "NDJSON2PARQUET_MAX_WAIT_SECONDS"  # BatchPolicy.max_wait_s
START_DEADLINE_SECONDS = "NDJSON2PARQUET_START_DEADLINE_SECONDS"  # ScheduledSettings.start_deadline_s
LISTING_LOOKBACK_SECONDS = "NDJSON2PARQUET_LISTING_LOOKBACK_SECONDS"  # ScheduledSettings.listing_lookback_s


def read_number(name: str, default: float, environ: Mapping[str, str] | None = None) -> float:
    """The variable as a number, or `default` when unset or empty; ConfigError when it is not one."""
    text = read(name, None, environ)
    try:
        return float(text) if text is not None else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {text!r}") from exc
