"""The Lambda functions' Terraform against the package: handlers, runtime, architecture, and the
environment variables each function reads, which the module sets, all of them and nothing else."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aws_lambda_powertools
import pytest

from ndjson2parquet.aws import config as aws_config
from ndjson2parquet.aws import deployment
from ndjson2parquet.aws.handlers import scheduled, steps
from ndjson2parquet.config import env
from tests.support import terraform

# values of the right shape for every variable, so the loaders accept them while we watch the reads
SAMPLE = {
    env.STATE: "dynamodb://state",
    env.LAKE: "s3://lake",
    env.LANDING: "s3://landing/incoming",
    env.STATE_MACHINE_ARN: "arn:aws:states:eu-west-1:123456789012:stateMachine:workflow",
    env.OWNER_TTL_SECONDS: "1200",
}


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """Every variable name `config.env.read` is asked for (read_number goes through it too)."""
    names: set[str] = set()
    real = env.read

    def recording(name: str, default: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
        names.add(name)
        return real(name, default, SAMPLE)

    monkeypatch.setattr(env, "read", recording)
    yield names


class _Powertools:
    """Stands in for Powertools' Logger, Metrics and Tracer while a handler module runs again: a
    second real Logger of a service re-registers handlers other tests restore."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        def decorator_or_decorated(*args: Any, **kwargs: Any) -> Any:
            if len(args) == 1 and callable(args[0]) and not kwargs:
                return args[0]
            return lambda fn: fn

        return decorator_or_decorated


def _run_module(dotted: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Execute a handler module's source in a fresh namespace (its import-time reads happen again,
    and the imported module, its loggers and injected state stay untouched)."""
    for name in ("Logger", "Metrics", "Tracer"):
        monkeypatch.setattr(aws_lambda_powertools, name, _Powertools)
    spec = importlib.util.find_spec(dotted)
    assert spec is not None and spec.origin is not None
    namespace: dict[str, Any] = {"__name__": f"{dotted}_probe", "__package__": dotted.rpartition(".")[0]}
    exec(compile(Path(spec.origin).read_text(encoding="utf-8"), spec.origin, "exec"), namespace)
    return namespace


def test_the_intake_reads_exactly_what_the_deployment_lists(reads: set[str], monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = _run_module("ndjson2parquet.aws.handlers.intake", monkeypatch)
    namespace["settings_from_env"]()
    assert reads == deployment.INTAKE_ENVIRONMENT


def test_the_steps_read_exactly_what_the_deployment_lists(reads: set[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _run_module("ndjson2parquet.aws.handlers.steps", monkeypatch)
    steps._ObservabilityNames()
    aws_config.load_settings()
    assert reads == deployment.STEP_ENVIRONMENT


def test_recover_and_seal_read_exactly_what_the_deployment_lists(
    reads: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for dotted in ("ndjson2parquet.aws.handlers.recover", "ndjson2parquet.aws.handlers.seal"):
        _run_module(dotted, monkeypatch)
    built: list[tuple[Any, ...]] = []
    monkeypatch.setattr(scheduled, "observability", lambda *names: built.append(names))  # no real Powertools
    scheduled.Scheduled("probe")._observability()
    assert built
    aws_config.load_scheduled_settings()
    assert reads == deployment.SCHEDULED_ENVIRONMENT


def _environment_of(key: str) -> set[str]:
    locals_ = terraform.locals_of("functions")
    reference = locals_["environment"][key]  # "${local.<name>}"
    assert reference.startswith("${local.") and reference.endswith("}"), reference
    return set(locals_[reference[len("${local.") : -1]])


@pytest.mark.parametrize("key", sorted(deployment.FUNCTIONS))
def test_the_module_sets_every_variable_the_function_reads_and_nothing_else(key: str) -> None:
    assert _environment_of(key) == set(deployment.ENVIRONMENT[key])


def test_the_module_deploys_every_handler_of_the_package() -> None:
    assert terraform.locals_of("functions")["handlers"] == deployment.FUNCTIONS


@pytest.mark.parametrize("key", sorted(deployment.FUNCTIONS))
def test_every_handler_named_exists_in_the_package(key: str) -> None:
    dotted, _, function = deployment.FUNCTIONS[key].rpartition(".")
    assert callable(getattr(importlib.import_module(dotted), function))


def test_runtime_and_architecture_are_the_packages() -> None:
    assert terraform.default("functions", "runtime") == deployment.RUNTIME
    assert terraform.default("functions", "architecture") == deployment.ARCHITECTURE
    script = (terraform.ROOT / "scripts" / "package_lambda.sh").read_text(encoding="utf-8")
    assert f"--platform {deployment.PIP_PLATFORM}" in script
    assert f"--python-version {deployment.RUNTIME.removeprefix('python')}" in script


def test_every_function_has_its_memory_timeout_and_role() -> None:
    sizes = terraform.default("functions", "functions")
    assert set(sizes) == set(deployment.FUNCTIONS)
    assert set(terraform.variables("iam")["function_names"]["validation"][0]["condition"].split('"')[1::2]) >= set(
        deployment.FUNCTIONS
    )
    # the sizes themselves: test_cost_contract.py (aws.deployment.FUNCTION_SIZES, the cost model's)


def test_the_intake_event_source_reports_batch_item_failures() -> None:
    mapping = terraform.resource("functions", "aws_lambda_event_source_mapping", "intake")
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert terraform.default("functions", "batch_size") == 100
    assert terraform.default("functions", "maximum_batching_window_in_seconds") == 20
    # the event source drives no more invocations than the intake may run: none is throttled
    reserved = terraform.default("functions", "functions")["intake"]["reserved_concurrency"]
    assert terraform.default("functions", "intake_maximum_concurrency") == reserved


def test_every_function_runs_in_a_vpc_with_tracing_a_dead_letter_queue_and_an_encrypted_environment() -> None:
    function = terraform.resource("functions", "aws_lambda_function", "this")
    assert function["tracing_config"][0]["mode"] == "Active"
    assert function["kms_key_arn"] == "${var.kms_key_arn}"
    assert function["dead_letter_config"][0]["target_arn"] == "${var.dead_letter_target_arn}"
    assert function["vpc_config"][0]["subnet_ids"] == "${var.subnet_ids}"
    assert function["reserved_concurrent_executions"] == "${var.functions[each.key].reserved_concurrency}"
    assert function["architectures"] == ["${var.architecture}"]
