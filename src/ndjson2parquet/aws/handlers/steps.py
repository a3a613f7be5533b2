"""Lambda handlers of the manifest workflow's steps: start, convert, commit, compensate, put_back.

Each parses its event, runs the matching step of `workflow.steps` (idempotent: Step Functions may
deliver a step twice) and returns the step's document, which the state machine
(`aws/state_machine.asl.json`) passes to the next state. A step that failed transiently raises
`StepTransientError` (the state machine retries it with backoff and jitter); one that cannot
succeed raises `StepTerminalError` (caught into compensation). A conversion or commit that failed
on its input returns a document whose ``next`` is ``fail``: the state machine compensates.

The lease owner of a manifest is its execution (`Owner.sfn_execution`, the execution ARN): its
record in the state store is announced with ``owner_ttl_s`` at every step, which outlasts a step's
timeout, so recovery takes a manifest over only from an execution that stopped working on it.

Handlers: ``start_handler``, ``convert_handler``, ``commit_handler``, ``compensate_handler``,
``put_back_handler`` (``ndjson2parquet.aws.handlers.steps.<name>`` as the Lambda's handler).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from ...config import env
from ...config.settings import AwsSettings
from ...domain.errors import ConfigError, PipelineError, ResourceExhausted
from ...domain.records import Manifest
from ...gc_policy import tune_for_bulk_work
from ...workflow.lease import Owner
from ...workflow.steps import BadStepDocument, Next, Seen, StepContext, StepDocument, begin, finish
from ..config import load_settings
from ..errors import StepTerminalError, StepTransientError
from ..observability import Observability, observability
from ..runtime import AwsClients, StepRuntime

T = TypeVar("T")
STEPS = ("start", "convert", "commit", "compensate", "put_back")
#: the start event's keys: the execution input's manifest id and the execution's ARN (``$$.Execution.Id``)
MANIFEST_ID, EXECUTION_ARN = "manifest_id", "execution_arn"
#: what the start step adds to its document for the state machine's Choice (Lambda or Glue)
MANIFEST_BYTES = "manifest_bytes"
#: where the state machine's Catch puts the error it caught (``{"Error": ..., "Cause": ...}``)
CAUGHT = "caught"


class StepHandlers:
    """The step handlers over one runtime (settings, clients, engine), built on first use."""

    def __init__(
        self,
        settings: AwsSettings | None = None,
        clients: AwsClients | None = None,
        obs: Observability | None = None,
        runtime: StepRuntime | None = None,
    ) -> None:
        self._settings, self._clients, self._runtime = settings, clients or AwsClients(), runtime
        if obs is None:
            named = settings or _ObservabilityNames()
            obs = observability(named.service, named.metrics_namespace, named.log_level)
        self.obs = obs
        self._entries = {step: self._entry(step) for step in STEPS}

    def invoke(self, step: str, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Run ``step`` as its Lambda would: logs with the context's keys, metrics flushed, traced."""
        return self._entries[step](event, context)

    def _entry(self, step: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        run: Callable[[Mapping[str, Any]], dict[str, Any]] = getattr(self, step)

        def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
            self.obs.metrics.add_dimension(name="step", value=step)
            self._count("StepInvocations", 1)
            try:
                return run(event)
            except ConfigError as exc:  # the function's settings: no retry helps (never TaskFailed's retries)
                raise StepTerminalError(f"{step}: {exc}") from exc

        return self.obs.handler(invoke)

    @property
    def runtime(self) -> StepRuntime:
        """Settings (from the environment unless given) and the services, on first use."""
        if self._runtime is None:
            self._runtime = StepRuntime(self._settings or load_settings(), self._clients)
        return self._runtime

    # --- the steps ---------------------------------------------------------------------------

    def start(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Announce the execution as owner and start the manifest (CREATED → RUNNING)."""
        manifest_id, execution_arn = _required(event, MANIFEST_ID), _required(event, EXECUTION_ARN)
        settings = self.runtime.settings
        doc = StepDocument.begin(
            manifest_id,
            str(Owner.sfn_execution(execution_arn)),
            settings.lake,
            settings.quarantine,
            settings.conversion,
            owner_ttl_s=settings.owner_ttl_s,
        )
        ctx = self.runtime.context()
        doc = _run("start", lambda: begin.start(ctx, doc))
        answer = doc.to_json()
        if doc.state == Seen.RUNNING:
            manifest = _run("start", lambda: ctx.store.get_manifest(manifest_id))
            answer[MANIFEST_BYTES] = manifest.bytes
            self._count("ManifestBytes", manifest.bytes, MetricUnit.Bytes)
            self._count("ManifestFiles", len(manifest.file_ids))
        return answer

    def convert(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Convert the manifest's files into parts and a work object (see `begin.convert`)."""
        doc, ctx = self._document(event), self.runtime.context()
        _renew_owner(ctx, doc)
        converted = _run("convert", lambda: begin.convert(ctx, doc))
        _raise_if_transient(converted.error)
        if converted.doc.next == Next.COMMIT:
            self._count("RowsConverted", int(converted.doc.stats.get("rows_written", 0) or 0))
        return converted.doc.to_json()

    def commit(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Commit the converted manifest: record, SUCCEEDED, files DONE (see `finish.commit`)."""
        doc, ctx = self._document(event), self.runtime.context()
        ctx.on_committed = self._sync_catalog
        _renew_owner(ctx, doc)
        committed = _run("commit", lambda: finish.commit(ctx, doc))
        _raise_if_transient(committed.error)
        if committed.manifest is not None:
            self._committed(committed.manifest, committed.first_arrival)
        return committed.doc.to_json()

    def compensate(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Fail the manifest (when this execution still holds it) and compensate it: its outputs
        removed, its files released to PENDING (see `finish.fail`). The error is the document's, or
        the one the state machine caught."""
        doc = self._document(event)
        caught = event.get(CAUGHT)
        if isinstance(caught, Mapping):
            doc = doc.then(doc.state, Next.FAIL, error=_caught_error(caught))
        ctx = self.runtime.context()
        doc = _run("compensate", lambda: finish.fail(ctx, doc))
        if doc.state == Seen.COMPENSATED:
            self._count("ManifestsCompensated", 1)
        return doc.to_json()

    def put_back(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Requeue a manifest whose conversion ran out of resources (no attempt spent)."""
        doc, ctx = self._document(event), self.runtime.context()
        return _run("put_back", lambda: finish.put_back(ctx, doc)).to_json()

    # --- helpers -----------------------------------------------------------------------------

    def _document(self, event: Mapping[str, Any]) -> StepDocument:
        try:
            return StepDocument.from_json(event)
        except BadStepDocument as exc:
            raise StepTerminalError(str(exc)) from exc

    def _committed(self, manifest: Manifest, first_arrival: float | None) -> None:
        stats, now = manifest.stats, time.time()
        self._count("ManifestsCommitted", 1)
        self._count("RowsWritten", int(stats.get("rows_written", 0) or 0))
        self._count("RowsQuarantined", int(stats.get("rows_quarantined", 0) or 0))
        # review Q19: how long a manifest took from closing to its parts being readable, and its
        # earliest file from landing (its object's LastModified) to being readable
        self._count("ManifestLatency", max(0.0, now - manifest.created_at), MetricUnit.Seconds)
        if first_arrival is not None:
            self._count("ArrivalLatency", max(0.0, now - first_arrival), MetricUnit.Seconds)

    def _sync_catalog(self, manifest: Manifest) -> None:
        """Keep the dataset's Glue table in step (after the commit point: a failure is logged and
        counted, and the next commit of the dataset, or this one redelivered, repairs the table)."""
        try:
            if self.runtime.sync_catalog(manifest):
                self._count("CatalogTablesWritten", 1)
        except Exception as exc:  # never fails a committed manifest
            self.obs.logger.warning(
                "catalog not updated", extra={"dataset": manifest.dataset, "error": f"{type(exc).__name__}: {exc}"}
            )
            self._count("CatalogSyncFailures", 1)

    def _count(self, name: str, value: float, unit: MetricUnit = MetricUnit.Count) -> None:
        self.obs.metrics.add_metric(name=name, unit=unit, value=value)


def _required(event: Mapping[str, Any], key: str) -> str:
    value = event.get(key) if isinstance(event, Mapping) else None
    if not isinstance(value, str) or not value:
        raise StepTerminalError(f"the event has no {key!r}")
    return value


def _renew_owner(ctx: StepContext, doc: StepDocument) -> None:
    """Renew the execution's owner record before a step's work (its heartbeat renews it during)."""
    _run("announce", lambda: ctx.store.announce_owner(doc.owner, doc.owner_ttl_s))


def _run(step: str, fn: Callable[[], T]) -> T:
    """Run a step; our errors leave as the two the state machine knows (the cause chained)."""
    try:
        return fn()
    except (StepTransientError, StepTerminalError):
        raise
    except ResourceExhausted as exc:  # the state store is full: a later retry may find room
        raise StepTransientError(f"{step}: {exc}") from exc
    except PipelineError as exc:
        kind = StepTransientError if exc.transient else StepTerminalError
        raise kind(f"{step}: {type(exc).__name__}: {exc}") from exc


def _raise_if_transient(error: Exception | None) -> None:
    """A step that met a transient error answers FAIL; Step Functions retries it instead."""
    if isinstance(error, PipelineError) and error.transient:
        raise StepTransientError(f"{type(error).__name__}: {error}") from error


def _caught_error(caught: Mapping[str, Any]) -> str:
    """``Error: message`` from a Catch's error (a Lambda's or a Glue run's Cause is JSON)."""
    name, cause = str(caught.get("Error", "error")), caught.get("Cause")
    message = cause
    try:  # a Lambda's error as JSON (errorMessage), or a Glue job run's (ErrorMessage)
        details = json.loads(cause) if isinstance(cause, str) else None
        if isinstance(details, dict):
            message = details.get("errorMessage") or details.get("ErrorMessage") or cause
    except ValueError:
        pass
    return f"{name}: {message}" if message else name


class _ObservabilityNames:
    """Service, namespace and log level from the environment (the handlers' settings are read later,
    on first use: a missing setting fails the invocation, with a logged error, not the import)."""

    def __init__(self) -> None:
        self.service = env.read(env.SERVICE_NAME, "ndjson2parquet") or "ndjson2parquet"
        self.metrics_namespace = env.read(env.METRICS_NAMESPACE, "ndjson2parquet") or "ndjson2parquet"
        self.log_level = (env.read(env.LOG_LEVEL, "INFO") or "INFO").upper()


# --- the Lambda entry points: one StepHandlers per warm container, built on first use ---------

_handlers: StepHandlers | None = None


def _default() -> StepHandlers:
    global _handlers
    if _handlers is None:
        tune_for_bulk_work()  # a convert or commit step holds a whole manifest's records
        _handlers = StepHandlers()
    return _handlers


def start_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point of the start step (`StepHandlers.start`)."""
    return _default().invoke("start", event, context)


def convert_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point of the convert step (`StepHandlers.convert`)."""
    return _default().invoke("convert", event, context)


def commit_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point of the commit step (`StepHandlers.commit`)."""
    return _default().invoke("commit", event, context)


def compensate_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point of the compensate step (`StepHandlers.compensate`)."""
    return _default().invoke("compensate", event, context)


def put_back_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point of the put_back step (`StepHandlers.put_back`)."""
    return _default().invoke("put_back", event, context)
