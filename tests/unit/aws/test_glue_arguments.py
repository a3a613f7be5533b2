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


def test_on_glue_the_arguments_present_are_resolved_by_awsglue(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    asked: list[list[str]] = []

    def get_resolved_options(argv: list[str], names: list[str]) -> dict[str, str]:
        asked.append(names)
        assert not argv[0].startswith("--")  # awsglue skips the first item: the script
        return {name: argv[argv.index(f"--{name}") + 1] for name in names}

    utils = types.ModuleType("awsglue.utils")
    utils.getResolvedOptions = get_resolved_options  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "awsglue", types.ModuleType("awsglue"))
    monkeypatch.setitem(sys.modules, "awsglue.utils", utils)
    argv = ["script.py", "--JOB_NAME", "convert", "--step_document", "{}", "--lake", "s3://b/lake"]
    assert resolved_options(argv) == {"JOB_NAME": "convert", "step_document": "{}", "lake": "s3://b/lake"}
    assert sorted(asked[0]) == ["JOB_NAME", "lake", "step_document"]  # never a name it would find missing
    assert resolved_options(argv[1:]) == resolved_options(argv)  # the script's name is optional


def test_the_job_converts_on_the_spark_engine_unless_told_arrow() -> None:
    from ndjson2parquet.aws.glue.convert_job import runtime_for
    from ndjson2parquet.aws.runtime import AwsClients
    from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
    from ndjson2parquet.conversion.spark import SparkEngine

    session = object()  # the GlueContext's session on Glue; the engine only uses it to convert
    found = {"step_document": "{}", "state": "dynamodb://t", "lake": "s3://b/lake"}
    on_spark = runtime_for(JobArguments.of(found), AwsClients(), spark=session)
    assert isinstance(on_spark.engine, SparkEngine) and on_spark.engine.spark is session
    assert isinstance(runtime_for(JobArguments.of({**found, "ENGINE": "arrow"}), AwsClients()).engine, ArrowEngine)
