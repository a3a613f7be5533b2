"""The Terraform's variable defaults are what the package says it deploys (`aws.deployment`) and what
the cost model prices (`cost.DEPLOYMENT`): function sizes and timeouts, the SQS batching, the
schedules and their events, the listing's lookback, the table's billing, Glue, log retention, the
landing lifecycle, the VPC endpoints and the alarms. A default changed on one side alone fails here."""

from __future__ import annotations

import re

import pytest

from ndjson2parquet.aws import deployment
from ndjson2parquet.cost import DEPLOYMENT
from tests.support import terraform


@pytest.mark.parametrize("key", sorted(deployment.FUNCTIONS))
def test_each_functions_memory_timeout_and_concurrency_are_the_deployments_and_the_cost_models(key: str) -> None:
    size = deployment.FUNCTION_SIZES[key]
    declared = terraform.default("functions", "functions")[key]
    assert {**declared, "ephemeral_storage": declared.get("ephemeral_storage", 512)} == {
        "memory_size": size.memory_mb,
        "timeout": size.timeout_s,
        "reserved_concurrency": size.reserved_concurrency,
        "ephemeral_storage": size.ephemeral_mb,
    }
    priced = next(f for f in DEPLOYMENT.functions() if f.name == key)
    assert (priced.memory_mb, priced.timeout_s) == (size.memory_mb, size.timeout_s)


def test_the_intake_batching_and_redrive_are_the_cost_models() -> None:
    assert terraform.default("functions", "batch_size") == deployment.SQS_BATCH_SIZE == DEPLOYMENT.sqs_batch_size
    window = terraform.default("functions", "maximum_batching_window_in_seconds")
    assert window == deployment.SQS_BATCHING_WINDOW_S == DEPLOYMENT.sqs_batching_window_s
    receives = terraform.default("queues", "max_receive_count")
    assert receives == deployment.SQS_MAX_RECEIVE_COUNT == DEPLOYMENT.sqs_max_receive_count


def _scheduled() -> dict[str, tuple[str, str, str]]:
    """schedule key -> (expression variable, function, event) as the schedules module's locals say."""
    text = terraform.locals_of("schedules")["schedules"]
    found = re.findall(r"(\w+) = \{expression = var\.(\w+), arn = var\.(\w+)_function_arn, input = \{([^}]*)\}\}", text)
    return {key: (variable, function, event) for key, variable, function, event in found}


@pytest.mark.parametrize("key", sorted(deployment.SCHEDULES))
def test_each_schedule_invokes_its_function_as_often_and_with_the_event_the_deployment_says(key: str) -> None:
    schedule = deployment.SCHEDULES[key]
    variable, function, event = _scheduled()[key]
    assert terraform.default("schedules", variable) == schedule.expression
    assert function == schedule.function
    expected = ", ".join(f"{name} = {str(value).lower()}" for name, value in schedule.event)
    assert event == expected


def test_the_schedules_module_runs_exactly_the_deployments_schedules_and_the_cost_model_prices_them() -> None:
    assert set(_scheduled()) == set(deployment.SCHEDULES)
    assert DEPLOYMENT.recover_every_min == 5 and DEPLOYMENT.seal_every_min == 15
    assert DEPLOYMENT.landing_listing_every_min == deployment.SCHEDULES["landing_listing"].every_min == 1440
    assert terraform.default("schedules", "landing_listing_schedule") == "rate(1 day)"


def test_the_listing_lookback_is_set_and_priced_alike() -> None:
    lookback = terraform.default("functions", "listing_lookback_seconds")
    assert lookback == deployment.LISTING_LOOKBACK_S == DEPLOYMENT.listing_lookback_s == 3 * 86400
    assert terraform.locals_of("functions")["scheduled_environment"]["NDJSON2PARQUET_LISTING_LOOKBACK_SECONDS"] == (
        "${tostring(var.listing_lookback_seconds)}"
    )


def test_the_recover_function_has_time_for_the_listing_it_runs() -> None:
    # the listing runs in the recover Lambda: the most time a Lambda may have, priced as such
    assert deployment.FUNCTION_SIZES["recover"].timeout_s == DEPLOYMENT.recover_timeout_s == 900
    assert deployment.FUNCTION_SIZES["recover"].reserved_concurrency >= 2  # the 5-minute pass beside the listing


def test_the_table_billing_is_the_cost_models() -> None:
    assert terraform.default("state_table", "billing_mode") == deployment.DYNAMODB_BILLING_MODE == "PAY_PER_REQUEST"
    assert terraform.default("examples/complete", "dynamodb_billing_mode") == deployment.DYNAMODB_BILLING_MODE
    assert DEPLOYMENT.dynamodb_billing == "on-demand"


def test_the_glue_job_is_the_one_priced() -> None:
    assert terraform.default("glue", "glue_version") == deployment.GLUE_VERSION == DEPLOYMENT.glue_version
    assert terraform.default("glue", "worker_type") == deployment.GLUE_WORKER_TYPE == DEPLOYMENT.glue_worker_type
    assert terraform.default("glue", "number_of_workers") == deployment.GLUE_WORKERS == DEPLOYMENT.glue_workers
    assert terraform.default("glue", "use_flex") is deployment.GLUE_FLEX is DEPLOYMENT.glue_flex
    assert terraform.default("examples/complete", "use_glue_flex") is deployment.GLUE_FLEX


def test_log_retention_is_the_cost_models() -> None:
    retention = terraform.default("functions", "log_retention_days")
    assert retention == deployment.LOG_RETENTION_DAYS == DEPLOYMENT.log_retention_days


def test_the_landing_keeps_inputs_and_archives_them_as_priced() -> None:
    assert terraform.default("storage", "landing_expiration_days") is None
    assert terraform.default("examples/complete", "landing_expiration_days") is None
    assert deployment.LANDING_EXPIRATION_DAYS is None is DEPLOYMENT.landing_expiration_days
    archive = terraform.default("storage", "landing_archive_days")
    assert archive == deployment.LANDING_ARCHIVE_DAYS == DEPLOYMENT.landing_archive_days == 90


def test_the_vpc_endpoints_priced_are_those_deployed() -> None:
    assert terraform.default("endpoints", "gateway_services") == list(deployment.GATEWAY_ENDPOINTS)
    assert terraform.default("endpoints", "interface_services") == list(deployment.INTERFACE_ENDPOINTS)
    assert tuple(DEPLOYMENT.interface_endpoints) == deployment.INTERFACE_ENDPOINTS
    assert terraform.default("examples/complete", "create_vpc_endpoints") is True is DEPLOYMENT.vpc
    # the example passes the services through untouched: the module's defaults are what it deploys
    called = next(
        terraform.plain(block)["endpoints"]
        for block in terraform.module("examples/complete")["module"]
        if "endpoints" in terraform.plain(block)
    )
    assert "interface_services" not in called and "gateway_services" not in called


def _alarms_deployed() -> int:
    """The alarms module's alarms, counted from its resources as the complete example calls it."""
    called = next(
        terraform.plain(block)["alarms"]
        for block in terraform.module("examples/complete")["module"]
        if "alarms" in terraform.plain(block)
    )
    sizes = {"${local.functions}": len(deployment.FUNCTIONS), "${local.dlqs}": len(called["dead_letter_queue_names"])}
    total = 0
    for name, body in terraform.blocks("alarms", "resource", "aws_cloudwatch_metric_alarm").items():
        if "count" in body:
            assert body["count"] == "${var.create ? 1 : 0}", name
            total += 1
        elif body["for_each"] in sizes:
            total += sizes[body["for_each"]]
        else:  # a literal map: count its keys
            total += len(re.findall(r"[\w-]+ = \{metric = ", body["for_each"]))
    return total


def test_the_alarms_priced_are_those_the_alarms_module_creates() -> None:
    assert _alarms_deployed() == DEPLOYMENT.alarms == 23
