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

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ...config import env
from ...config.settings import IntakeSettings
from ...ingest.events import BadEvent, S3ObjectEvent, parse_body
from ..config import load_intake_settings
from ..intake import ExecutionStarter, Intake, IntakeResult
from ..observability import Observability, observability

SERVICE = "ndjson2parquet-intake"
NAMESPACE = "ndjson2parquet"

_intake: Intake | None = None
_obs: Observability | None = None


def settings_from_env(environ: Mapping[str, str] | None = None) -> IntakeSettings:
    """The intake's settings from the Lambda's environment variables (`aws.config.load_intake_settings`)."""
    return load_intake_settings(environ)


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


def use(intake: Intake | None, obs: Observability | None = None) -> None:
    """Inject the Intake the handler uses (None: built from the environment at the next call), and
    its observability when given (else the one in use is kept, or built at the next call)."""
    global _intake, _obs
    _intake = intake
    if obs is not None:
        _obs = obs


def _current() -> Intake:
    global _intake
    if _intake is None:
        _intake = build_intake(settings_from_env())
    return _intake


def observability_in_use() -> Observability:
    """Powertools as every handler sets it up (`aws.observability`), built at the first invocation:
    importing this module changes no logging configuration."""
    global _obs
    if _obs is None:
        _obs = observability(SERVICE, NAMESPACE, (env.read(env.LOG_LEVEL, "INFO") or "INFO").upper())
    return _obs


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: ``{"batchItemFailures": [{"itemIdentifier": message id}, ...]}``."""
    obs = observability_in_use()
    return obs.handler(lambda event, context: process(event, context, _current(), obs))(event, context)


def process(event: Mapping[str, Any], context: Any, intake: Intake, obs: Observability) -> dict[str, Any]:
    """Parse each message (a bad one fails alone), then hand the batch to the Intake; report failures."""
    logger = obs.logger
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
    _measure(obs, len(records), len(failures), sum(1 for events in parsed.values() if not events), result)
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


def _measure(obs: Observability, messages: int, failed: int, empty: int, result: IntakeResult) -> None:
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
        ("ClaimConflicts", result.claim_conflicts),  # review Q19: contention between racing claimers
        ("ExecutionsStarted", result.executions_started),
    ):
        obs.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def _receive_count(record: Mapping[str, Any]) -> int:
    try:
        return int(record.get("attributes", {}).get("ApproximateReceiveCount", 1))
    except (TypeError, ValueError):
        return 1
