"""Starting a manifest's execution, and the Glue convert job's command line."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ndjson2parquet.aws.executions import execution_arn, start_manifest_execution
from ndjson2parquet.aws.glue.convert_job import job_arguments, run
from ndjson2parquet.domain.errors import ConfigError, Throttled

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:n2p"


def sfn() -> Any:
    return boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")


def test_starting_an_execution_that_exists_is_success_with_its_arn() -> None:
    client = sfn()
    with Stubber(client) as stub:
        stub.add_client_error("start_execution", "ExecutionAlreadyExists", "Execution Already Exists")
        assert start_manifest_execution(client, MACHINE, "m-1") == f"{execution_arn(MACHINE, 'm-1')}"
    assert execution_arn(MACHINE, "m-1") == "arn:aws:states:us-east-1:123456789012:execution:n2p:m-1"


def test_a_started_execution_is_named_by_the_manifest() -> None:
    client = sfn()
    with Stubber(client) as stub:
        stub.add_response(
            "start_execution",
            {"executionArn": execution_arn(MACHINE, "m-2"), "startDate": "2026-12-01T00:00:00Z"},
            {"stateMachineArn": MACHINE, "name": "m-2", "input": '{"manifest_id": "m-2"}'},
        )
        assert start_manifest_execution(client, MACHINE, "m-2") == execution_arn(MACHINE, "m-2")


def test_a_throttled_start_is_transient_and_a_missing_machine_is_a_config_error() -> None:
    client = sfn()
    with Stubber(client) as stub:
        stub.add_client_error("start_execution", "ThrottlingException", "slow down")
        stub.add_client_error("start_execution", "StateMachineDoesNotExist", "no such machine")
        with pytest.raises(Throttled):
            start_manifest_execution(client, MACHINE, "m-3")
        with pytest.raises(ConfigError, match="no such machine"):
            start_manifest_execution(client, MACHINE, "m-3")


def test_the_glue_job_reads_its_arguments_as_glue_passes_them() -> None:
    argv = ["--JOB_NAME", "convert", "--step_document", '{"a": 1}', "--lake", "s3://b/lake"]
    assert job_arguments(argv) == {"JOB_NAME": "convert", "step_document": '{"a": 1}', "lake": "s3://b/lake"}


def test_the_glue_job_fails_without_a_step_document() -> None:
    with pytest.raises(ConfigError, match="step_document"):
        run({"lake": "s3://b/lake"})
