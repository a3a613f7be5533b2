"""The intake: SQS batches of S3 events → registered files → full manifests → one execution each.

What the review asked of its manifest builder, built on the embedded pipeline's own services:

* every object version is registered through `ingest.registration.ingest`, as a listing registers
  it (same file ids, same versioning rules): a repeated event is a no-op (LAMBDA-REL-002, Q13);
* a whole SQS batch is registered at once (the store's batched reads and transactions,
  LAMBDA-PERF-003); if that fails, each message is registered alone, so one bad message fails
  alone (partial batch failures) and a message that can never succeed ends in the DLQ;
* manifests close through `batching.planner.Planner`, whose conditional claims need no lock
  (LAMBDA-REL-001, Q5) and read at most one manifest of pending files (LAMBDA-PERF-001, Q9). A
  (dataset, date) the batch touched is looked at (one read of its counts) and planned only when
  it may be full: pending files reach ``max_files``, their estimated bytes ``target_bytes``, or
  the date is past its grace period. Manifests that only waited long (``max_wait``) are the
  scheduled flush's to close;
* each manifest gets one Step Functions execution named by its id, so a retried start is a
  no-op and ExecutionAlreadyExists is success (LAMBDA-REL-003, Q14: a manifest whose start never
  happened stays CREATED, which recovery re-drives). A (dataset, date) whose closing or starting
  failed fails the messages that touched it: SQS delivers them again and the retry closes it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..backoff import Backoff
from ..batching.planner import Planner, past_grace
from ..config.settings import BatchPolicy, IntakeSettings
from ..domain import clock
from ..domain.partitioning import arrival_date
from ..domain.records import Manifest, ObjectInfo
from ..domain.states import ManifestState
from ..ingest.events import EventSource, S3ObjectEvent
from ..ingest.registration import IngestReport, ingest
from ..state.base import StateStore
from .executions import start_execution

log = logging.getLogger(__name__)

DateKey = tuple[str, str]  # (dataset, date)


class ExecutionStarter:
    """Starts one Step Functions execution per manifest, named by the manifest id (idempotent:
    `aws.executions.start_execution`), retrying throttling and service errors with ``backoff``.

    The client is injected; a default one is built at the first start (not at import: LAMBDA-SEC-001
    then costs nothing, and tests pass theirs).
    """

    def __init__(self, state_machine_arn: str, client: Any = None, backoff: Backoff | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._client = client
        self.backoff = backoff or Backoff(base=0.1, cap=2.0, attempts=5)

    @property
    def client(self) -> Any:
        """The Step Functions client (built on first use when none was injected)."""
        if self._client is None:
            import boto3

            self._client = boto3.client("stepfunctions")
        return self._client

    def start(self, manifest: Manifest) -> bool:
        """Start the manifest's execution: True if started now, False if it existed already."""
        return self.backoff.call(lambda: start_execution(self.client, self.state_machine_arn, manifest.manifest_id)[1])


@dataclass
class IntakeResult:
    """What one SQS batch did; ``failed`` are the message ids to report as batch item failures."""

    failed: list[str] = field(default_factory=list)
    registered: int = 0  # new file versions
    duplicates: int = 0  # versions registered before (repeated or redelivered events)
    skipped: int = 0  # keys that are not inputs, or outside the landing zone
    removed: int = 0  # removal events, and objects gone before they were registered
    stale: int = 0  # events of a version overwritten since: the current one was registered instead
    manifests_closed: int = 0
    claim_conflicts: int = 0  # claims lost to another intake or flush racing for the same files
    executions_started: int = 0  # new executions (a retried start of an existing one is not counted)
    errors: list[str] = field(default_factory=list)  # one line per failed message or date


class Intake:
    """Registers the objects of S3 events, closes full manifests and starts their executions."""

    def __init__(
        self,
        store: StateStore,
        starter: ExecutionStarter,
        config: IntakeSettings,
        *,
        storage: Any = None,
        planner: Planner | None = None,
    ) -> None:
        self.store, self.starter, self.config = store, starter, config
        self._storage = storage
        # the storage (and its client) is built at the first S3 request, through this proxy
        self._lazy_storage = _LazyStorage(self)
        self.planner = planner or Planner(store, config.batch)

    @property
    def storage(self) -> Any:
        """The S3 storage that reads first bytes and HEADs objects (built on first use)."""
        if self._storage is None:
            from ..storage.s3 import S3Storage

            self._storage = S3Storage()
        return self._storage

    def handle(
        self,
        messages: Mapping[str, Sequence[S3ObjectEvent]],
        now: float | None = None,
        redelivered: Collection[str] = (),
    ) -> IntakeResult:
        """Register the events of parsed messages (message id → events) and close what they filled.

        A message whose registration fails, or that touched a (dataset, date) whose closing failed,
        is in ``failed``; the others are done (and deleted by the Lambda service). For a message
        delivered again (``redelivered``: an earlier try failed or crashed part way), the CREATED
        manifests of its dates are started too: a start lost after a claim is made up for at once.
        """
        at = clock.now() if now is None else now
        result = IntakeResult()
        lost_before = self.planner.lost_races
        touched: dict[DateKey, list[str]] = {}  # (dataset, date) → message ids that touched it
        sizes: dict[DateKey, list[int]] = {}
        for message_id, objects in self._register(messages, at, result).items():
            for obj in objects:
                day = self._date_of(obj.key, obj.modified_at)
                if day is not None:
                    touched.setdefault(day, []).append(message_id)
                    sizes.setdefault(day, []).append(obj.size)
        for day, ids in sorted(touched.items()):
            try:
                self._close(day, sizes[day], at, result)
                if not set(redelivered).isdisjoint(ids):
                    self._start_created(day, result)
            except Exception as exc:  # each date on its own: the others still close
                where = {"dataset": day[0], "date": day[1], "error": str(exc)}
                log.warning("closing failed: its messages are retried", extra=where)
                result.errors.append(f"{day[0]}/{day[1]}: {type(exc).__name__}: {exc}")
                result.failed.extend(i for i in dict.fromkeys(ids) if i not in result.failed)
        result.claim_conflicts = self.planner.lost_races - lost_before
        return result

    def _register(
        self, messages: Mapping[str, Sequence[S3ObjectEvent]], at: float, result: IntakeResult
    ) -> dict[str, list[ObjectInfo]]:
        """Register every message's objects at once; on failure each message alone (its own failure).

        Returns the objects registered (new or known) per message id."""
        bucket, prefix = self.config.bucket_and_prefix
        confirm = self.config.confirm_events
        everything = [e for events in messages.values() for e in events]
        whole = EventSource(bucket, prefix, everything, storage=self._lazy_storage, confirm=confirm)
        try:
            report = self._ingest(whole, at)
        except Exception as exc:  # whatever it was, each message now meets it (or not) on its own
            log.warning("batch registration failed: registering message by message", extra={"error": str(exc)})
        else:
            self._count(result, whole, report)
            return self._split(whole, messages)
        done: dict[str, list[ObjectInfo]] = {}
        for message_id, events in messages.items():
            source = EventSource(bucket, prefix, list(events), storage=self._lazy_storage, confirm=confirm)
            try:
                report = self._ingest(source, at)
            except Exception as exc:  # this message alone fails: SQS delivers it again (then the DLQ)
                log.warning("message registration failed", extra={"message_id": message_id, "error": str(exc)})
                result.failed.append(message_id)
                result.errors.append(f"{message_id}: {type(exc).__name__}: {exc}")
                continue
            self._count(result, source, report)
            done[message_id] = source.taken
        return done

    def _ingest(self, source: EventSource, at: float) -> IngestReport:
        return ingest(source, self.store, self.config.partitioner, now=at, on_changed=self.config.on_changed)

    @staticmethod
    def _count(result: IntakeResult, source: EventSource, report: IngestReport) -> None:
        result.registered += report.new
        result.duplicates += report.already_known + report.unchanged
        result.skipped += source.stats.skipped
        result.removed += source.removed
        result.stale += source.stale

    @staticmethod
    def _split(whole: EventSource, messages: Mapping[str, Sequence[S3ObjectEvent]]) -> dict[str, list[ObjectInfo]]:
        """Which objects of a registration made as one came from which message."""
        owners: dict[str, list[str]] = {}
        for message_id, events in messages.items():
            for event in events:
                owners.setdefault(event.uri, []).append(message_id)
        split: dict[str, list[ObjectInfo]] = {}
        for obj in whole.taken:
            for message_id in dict.fromkeys(owners.get(obj.uri, [])):
                split.setdefault(message_id, []).append(obj)
        return split

    def _date_of(self, key: str, modified_at: float) -> DateKey | None:
        """The (dataset, date) registration gave a key (as `ingest.registration` dates it)."""
        day = self.config.partitioner.date_from_key(key)
        if day is None:
            if self.config.partitioner.strict:
                return None
            day = arrival_date(modified_at)
        return self.config.partitioner.dataset_of(key), day

    def _close(self, day: DateKey, sizes: list[int], at: float, result: IntakeResult) -> None:
        """Close the (dataset, date)'s full manifests, if it may have any, and start each one."""
        status = self.store.date_status(*day)
        pending = status.files.get("PENDING", 0) if status is not None else 0
        if not may_be_full(pending, sum(sizes) / len(sizes), day[1], self.config.batch, at):
            return
        for claim in self.planner.close_date(*day, now=at):
            result.manifests_closed += 1
            self._start(claim.manifest, result)

    def _start_created(self, day: DateKey, result: IntakeResult) -> None:
        """Start every CREATED manifest of a (dataset, date): a no-op for those started already."""
        for manifest in self.store.manifests_of(*day):
            if manifest.state == ManifestState.CREATED:
                self._start(manifest, result)

    def _start(self, manifest: Manifest, result: IntakeResult) -> None:
        if self.starter.start(manifest):
            result.executions_started += 1
            log.info("execution started", extra={"manifest_id": manifest.manifest_id, "reason": manifest.reason})


def may_be_full(pending: int, mean_size: float, date: str, policy: BatchPolicy, now: float) -> bool:
    """Whether a (dataset, date) with ``pending`` files (of about ``mean_size`` bytes) is worth planning.

    Planning reads up to one manifest of pending records; this read of a counter spares it while no
    manifest can be full yet. The byte estimate only decides when to look: the planner counts exactly.
    """
    if pending <= 0:
        return False
    return pending >= policy.max_files or pending * mean_size >= policy.target_bytes or past_grace(date, policy, now)


class _LazyStorage:
    """The intake's storage, reached only when an event source really reads S3."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def __getattr__(self, name: str) -> Any:
        return getattr(self._intake.storage, name)
