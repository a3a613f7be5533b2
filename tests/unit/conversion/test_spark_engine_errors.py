"""The Spark engine's driver-side failures are ours: a full disk stops the run, other I/O is transient."""

from __future__ import annotations

import errno

import pytest

from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult
from ndjson2parquet.conversion.spark import SparkEngine
from ndjson2parquet.domain.errors import EngineError, ResourceExhausted

JOB = ConversionJob("m", "ev", "2026-11-25", (), "/lake", "/q")


class Failing(SparkEngine):
    def __init__(self, error: OSError) -> None:
        super().__init__(spark=object())
        self.error = error

    def _convert(self, job: ConversionJob) -> ConversionResult:
        raise self.error


def test_a_full_disk_on_the_driver_is_resource_exhaustion() -> None:
    with pytest.raises(ResourceExhausted, match="manifest m"):
        Failing(OSError(errno.ENOSPC, "No space left on device")).convert(JOB)


def test_another_io_error_on_the_driver_is_a_transient_engine_error() -> None:
    with pytest.raises(EngineError, match="I/O failed") as caught:
        Failing(OSError(errno.EIO, "Input/output error")).convert(JOB)
    assert caught.value.transient
