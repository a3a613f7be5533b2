"""The intake Lambda: an SQS batch of S3 event notifications → `aws.intake.Intake` → partial failures.

Subscribed to the landing bucket's event queue with ``ReportBatchItemFailures``: each message is
parsed through Powertools' BatchProcessor (one that is not an S3 event fails alone and, after the
queue's ``maxReceiveCount``, lands in its DLQ), then the batch's objects are registered, full
manifests closed and their executions started. Logs are Powertools JSON at ``LOG_LEVEL`` and
never hold the event (LAMBDA-SEC-002, LAMBDA-CQ-002, Q17); metrics are EMF (Q18, Q19); traces
X-Ray. SDK clients are built at the first invocation, not at import, and `use` injects an Intake.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ...config import env
from ...config.settings import BatchPolicy, IntakeSettings
from ...domain.partitioning import Partitioner
from ...ingest.events import BadEvent, S3ObjectEvent, parse_body
from ..intake import ExecutionStarter, Intake, IntakeResult

SERVICE = "ndjson2parquet-intake"
NAMESPACE = "ndjson2parquet"

_level = (env.read(env.LOG_LEVEL, "INFO") or "INFO").upper()
logger = Logger(service=SERVICE, level=_level)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)

_intake: Intake | None = None
_package_logs_routed = False


def settings_from_env(environ: Mapping[str, str] | None = None) -> IntakeSettings:
    """The intake's settings from the Lambda's environment variables (names in `config.env`)."""

    defaults = BatchPolicy()
    return IntakeSettings(
        state=env.read(env.STATE, "", environ) or "",
        landing=env.read(env.LANDING, "", environ) or "",
        state_machine_arn=env.read(env.STATE_MACHINE_ARN, "", environ) or "",
        partitioner=Partitioner(
            dataset_pattern=env.read(env.DATASET_PATTERN, None, environ),
            default_dataset=env.read(env.DATASET, "default", environ) or "default",
        ),
        batch=BatchPolicy(
            max_files=int(env.read_number(env.MAX_FILES, defaults.max_files, environ)),
            target_bytes=int(env.read_number(env.TARGET_BYTES, defaults.target_bytes, environ)),
            grace_period_s=env.read_number(env.GRACE_SECONDS, defaults.grace_period_s, environ),
        ),
    )


def build_intake(
    settings: IntakeSettings, *, dynamodb: Any = None, stepfunctions: Any = None, s3: Any = None
) -> Intake:
    """An Intake over the settings' state store; clients injected, or built the standard way."""
    from ...state import open_store
    from ...storage.s3 import S3Storage

    store = open_store(settings.state, client=dynamodb)
    starter = ExecutionStarter(settings.state_machine_arn, client=stepfunctions)
    storage = S3Storage(client=s3) if s3 is not None else None
    return Intake(store, starter, settings, storage=storage)


def use(intake: Intake | None) -> None:
    """Inject the Intake the handler uses (None: build one from the environment at the next call)."""
    global _intake
    _intake = intake


def _route_package_logs() -> None:
    """The package's own loggers write through the Powertools logger (once, at the first invocation:
    importing this module changes no logging configuration)."""
    global _package_logs_routed
    if not _package_logs_routed:
        copy_config_to_registered_loggers(source_logger=logger, log_level=_level, include={"ndjson2parquet"})
        _package_logs_routed = True


def _current() -> Intake:
    global _intake
    if _intake is None:
        _intake = build_intake(settings_from_env())
    return _intake


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: ``{"batchItemFailures": [{"itemIdentifier": message id}, ...]}``."""
    _route_package_logs()
    return process(event, context, _current())


def process(event: Mapping[str, Any], context: Any, intake: Intake) -> dict[str, Any]:
    """Parse each message (a bad one fails alone), then hand the batch to the Intake; report failures."""
    parsed: dict[str, list[S3ObjectEvent]] = {}

    def parse(record: SQSRecord) -> None:
        try:
            parsed[record.message_id] = parse_body(record.body)
        except BadEvent as exc:  # never the body: it may name buckets and keys (LAMBDA-SEC-002)
            logger.warning(
                "not an S3 event: reported failed", extra={"message_id": record.message_id, "error": str(exc)}
            )
            raise

    records = list(event.get("Records") or [])
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    with processor(records, parse, context):
        processor.process()
    failures = [item["itemIdentifier"] for item in processor.response().get("batchItemFailures", [])]
    redelivered = {r["messageId"] for r in records if _receive_count(r) > 1}
    result = intake.handle(parsed, redelivered=redelivered)
    failures += [message_id for message_id in result.failed if message_id not in failures]
    _measure(len(records), len(failures), sum(1 for events in parsed.values() if not events), result)
    logger.info(
        "batch done",
        extra={
            "messages": len(records),
            "failed": len(failures),
            "registered": result.registered,
            "duplicates": result.duplicates,
            "executions_started": result.executions_started,
        },
    )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}


def _measure(messages: int, failed: int, empty: int, result: IntakeResult) -> None:
    """EMF metrics of one batch (what drives cost and shows trouble: review Q19)."""
    for name, value in (
        ("Messages", messages),
        ("FailedMessages", failed),
        ("EmptyMessages", empty),  # s3:TestEvent
        ("FilesRegistered", result.registered),
        ("DuplicateEvents", result.duplicates),
        ("SkippedKeys", result.skipped),
        ("RemovalEvents", result.removed),
        ("StaleEvents", result.stale),
        ("ManifestsClosed", result.manifests_closed),
        ("ExecutionsStarted", result.executions_started),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def _receive_count(record: Mapping[str, Any]) -> int:
    try:
        return int(record.get("attributes", {}).get("ApproximateReceiveCount", 1))
    except (TypeError, ValueError):
        return 1
