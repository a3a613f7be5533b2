"""The Glue job's arguments: named in one place, checked, the job's compression under the manifest's options."""

from __future__ import annotations

import pytest

from ndjson2parquet.aws.glue.arguments import ARGUMENTS, JobArguments
from ndjson2parquet.aws.glue.glue_context import resolved_options
from ndjson2parquet.domain.errors import ConfigError


def test_the_manifest_reference_comes_under_either_name() -> None:
    assert JobArguments.of({"MANIFEST_REF": "{}"}).manifest_ref == "{}"
    assert JobArguments.of({"step_document": "{}"}).manifest_ref == "{}"


def test_the_spark_engine_is_the_default_and_another_is_refused() -> None:
    assert JobArguments.of({"step_document": "{}"}).engine == "spark"
    assert JobArguments.of({"step_document": "{}", "ENGINE": "arrow"}).engine == "arrow"
    with pytest.raises(ConfigError, match="--ENGINE"):
        JobArguments.of({"step_document": "{}", "ENGINE": "flink"})


def test_the_jobs_compression_applies_where_the_manifest_names_none() -> None:
    args = JobArguments.of({"step_document": "{}", "COMPRESSION_TYPE": "zstd"})
    assert args.options_over({}) == {"compression": "zstd"}
    assert args.options_over({"compression": "gzip"}) == {"compression": "gzip"}
    assert JobArguments.of({"step_document": "{}", "COMPRESSION_TYPE": "snappy"}).options_over({}) == {}


def test_an_unknown_compression_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="COMPRESSION_TYPE"):
        JobArguments.of({"step_document": "{}", "COMPRESSION_TYPE": "brotli"})


def test_without_awsglue_the_arguments_are_read_by_the_shim() -> None:
    argv = ["--JOB_NAME", "convert", "--step_document", '{"a": 1}', "--COMPRESSION_TYPE", "zstd"]
    assert resolved_options(argv) == {"JOB_NAME": "convert", "step_document": '{"a": 1}', "COMPRESSION_TYPE": "zstd"}
    assert {"MANIFEST_REF", "step_document", "state", "lake", "quarantine", "COMPRESSION_TYPE"} <= ARGUMENTS.keys()
