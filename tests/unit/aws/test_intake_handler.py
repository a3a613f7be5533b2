"""The intake Lambda handler: partial batch failures, EMF metrics, logs without the event."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ndjson2parquet.aws.handlers import intake as handler_module
from ndjson2parquet.aws.intake import ExecutionStarter, Intake
from ndjson2parquet.config import env
from ndjson2parquet.config.settings import AwsSettings, BatchPolicy, IntakeSettings
from ndjson2parquet.domain.errors import ConfigError
from ndjson2parquet.state.sqlite import SqliteStore
from tests.support.sqs_poller import FakeLambdaContext, lambda_sqs_record
from tests.unit.aws.test_intake_service import ARN, RecordingStepFunctions, body

EVENTS = Path(__file__).resolve().parents[2] / "data" / "events"
SECRET_KEY = "landing/2026/11/25/customer-secret-name.ndjson"


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[SqliteStore, RecordingStepFunctions]]:
    sfn = RecordingStepFunctions()
    with SqliteStore(tmp_path / "state.db") as store:
        settings = IntakeSettings(
            aws=AwsSettings(state="dynamodb://unused", state_machine_arn=ARN),
            landing="s3://in/landing",
            batch=BatchPolicy(max_files=2),
            confirm_events=False,
        )
        handler_module.use(Intake(store, ExecutionStarter(ARN, client=sfn), settings))
        yield store, sfn
    handler_module.use(None)


def sqs_event(*bodies: str, receive_count: int = 1) -> dict[str, Any]:
    return {"Records": [lambda_sqs_record(f"m{i}", b, receive_count=receive_count) for i, b in enumerate(bodies)]}


def test_one_bad_message_is_reported_alone_and_the_rest_of_the_batch_is_done(
    wired: tuple[SqliteStore, RecordingStepFunctions],
) -> None:
    store, sfn = wired
    event = sqs_event(body("landing/2026/11/25/a.ndjson"), "not json", body("landing/2026/11/25/b.ndjson"))
    response = handler_module.handler(event, FakeLambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert len(store.pending("default", "2026-11-25", 10).items) == 0  # both claimed: max_files=2
    assert len(sfn.executions) == 1


def test_a_batch_of_only_bad_messages_reports_each_instead_of_raising(
    wired: tuple[SqliteStore, RecordingStepFunctions],
) -> None:
    response = handler_module.handler(sqs_event("[]", '{"Records": 3}'), FakeLambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("*.json")))
def test_every_sample_event_is_handled_without_failures(
    wired: tuple[SqliteStore, RecordingStepFunctions], name: str
) -> None:
    event = json.loads((EVENTS / name).read_text())
    event["Records"] = [
        {**r, "body": r["body"].replace("landing-bucket", "in")} for r in event["Records"]
    ]  # the samples' bucket is the landing bucket here
    assert handler_module.handler(event, FakeLambdaContext()) == {"batchItemFailures": []}


def test_metrics_are_emf_and_logs_never_hold_the_event(
    wired: tuple[SqliteStore, RecordingStepFunctions], capsys: pytest.CaptureFixture[str]
) -> None:
    stream = io.StringIO()  # the JSON log lines of the handler's Powertools logger (built at its first call)
    handler_module.handler(sqs_event(), FakeLambdaContext())
    capsys.readouterr()
    logger = handler_module.observability_in_use().logger
    previous = logger.registered_handler.setStream(stream)
    try:
        handler_module.handler(sqs_event(body(SECRET_KEY), "oops"), FakeLambdaContext())
    finally:
        logger.registered_handler.setStream(previous)
    [emf] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert emf["FilesRegistered"] == [1.0] or emf["FilesRegistered"] == 1.0
    assert emf["FailedMessages"] in ([1.0], 1.0)
    assert emf["ClaimConflicts"] in ([0.0], 0.0)  # review Q19: contention between racing claimers
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ndjson2parquet"
    logs = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(line.get("message") == "batch done" for line in logs)
    assert "customer-secret-name" not in json.dumps(logs)


def test_settings_come_from_the_environment_and_a_bad_number_is_a_config_error() -> None:
    environ = {
        env.STATE: "dynamodb://files",
        env.LANDING: "s3://in/landing/",
        env.STATE_MACHINE_ARN: ARN,
        env.MAX_FILES: "500",
        env.DATASET_PATTERN: r"^(?P<dataset>[^/]+)/",
    }
    settings = handler_module.settings_from_env(environ)
    assert settings.bucket_and_prefix == ("in", "landing")
    assert settings.batch.max_files == 500 and settings.partitioner.dataset_of("orders/x.ndjson") == "orders"
    with pytest.raises(ConfigError, match=env.MAX_FILES):
        handler_module.settings_from_env({**environ, env.MAX_FILES: "many"})
    with pytest.raises(ConfigError, match="s3://"):
        handler_module.settings_from_env({**environ, env.LANDING: "/local/folder"})
