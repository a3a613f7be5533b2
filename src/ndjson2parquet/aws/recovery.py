"""The scheduled recovery on AWS: what the embedded recovery does, plus what only Step Functions knows.

One pass (`AwsRecovery.run`), safe to run from two schedules at once (every change is a conditional
write, every start is named):

1. the embedded recovery (`workflow.recovery.recover`): CLAIMING past its lease abandoned, RUNNING
   whose lease expired or whose owner has no live record requeued, SUCCEEDED-unsettled settled,
   FAILED-unsettled compensated (its files PENDING again, closed into a new manifest below);
2. each RUNNING manifest owned by an execution that ended (FAILED, TIMED_OUT, ABORTED, or SUCCEEDED
   without finishing it) or that Step Functions does not know (vanished) is requeued and re-driven
   at once: its owner record would keep it for ``owner_ttl_s`` otherwise;
3. each CREATED manifest past its start deadline (closed or requeued ``start_deadline_s`` ago, or
   requeued by this pass) whose execution never started, or ended without taking it, gets one;
4. the landing prefix is listed and every object version registered (events S3 lost: a version
   registered before is a no-op), then manifests that are full or waited past ``max_wait`` (the
   intake closes only full ones) are closed and started. Only objects modified within
   ``listing_lookback_s`` before the pass are looked up in the store (two consistent reads each when
   known): older ones were looked up by an earlier listing, so a listing's reads follow the recent
   arrivals, not everything the landing keeps; 0 (or ``full_listing``) looks up every object.

Execution names. A name is unique per state machine for 90 days, ended executions included, so a
manifest's n-th run has its own: run 0 is the manifest id (what the intake starts), run n > 0 is
``<manifest_id>-r<n>`` (`execution_name`), where n is the manifest's ``runs`` (the starts it had). A
name already used by an ended execution that never started the manifest (stopped before its first
step) is passed over for the next. Every execution's input is ``{"manifest_id": ...}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..batching.planner import Planner
from ..config.settings import ScheduledSettings
from ..domain import clock
from ..domain.errors import ConditionFailed, ConfigError, StoreUnavailable, TerminalError, Throttled
from ..domain.records import Manifest
from ..domain.states import ManifestState
from ..ingest.registration import ingest
from ..ingest.sources import S3Source
from ..state.base import StateStore
from ..workflow.executor import ManifestExecutor
from ..workflow.lease import Owner, OwnerKind
from ..workflow.recovery import recover
from .executions import execution_arn, start_execution

log = logging.getLogger(__name__)

#: Step Functions execution states in which an execution will never touch its manifest again
ENDED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
#: names tried past a manifest's ``runs`` before a CREATED manifest is left for the next pass
MAX_NAMES_TRIED = 5
_THROTTLED = {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}


class Action(StrEnum):
    """What recovery does about a manifest, given its execution's state."""

    LEAVE = "leave"  # its execution is working on it
    START = "start"  # start the execution of this name
    NEXT_NAME = "next_name"  # this name is spent: try the next one
    REDRIVE = "redrive"  # requeue the manifest, then start it under a new name


def execution_name(manifest_id: str, run: int) -> str:
    """The name of a manifest's execution for its ``run``-th start (0: the manifest id itself)."""
    return manifest_id if run <= 0 else f"{manifest_id}-r{run}"


def decide_created(status: str | None) -> Action:
    """A CREATED manifest past its start deadline, and the state of the execution of its next name
    (None: no such execution)."""
    if status is None:
        return Action.START
    if status in ENDED:
        return Action.NEXT_NAME  # it ended before its first step took the manifest
    return Action.LEAVE  # RUNNING (or PENDING_REDRIVE): its first step will take it


def decide_running(status: str | None) -> Action:
    """A RUNNING manifest, and the state of the execution that owns it (None: Step Functions does
    not know it any more)."""
    if status is None or status in ENDED:
        return Action.REDRIVE
    return Action.LEAVE


class Executions:
    """The Step Functions side: describe an execution by name or ARN, start one by name."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        if not state_machine_arn:
            raise ConfigError("no state machine ARN given")
        self.client, self.state_machine_arn = client, state_machine_arn

    def status(self, name_or_arn: str) -> str | None:
        """The execution's status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, ...); None if unknown."""
        arn = name_or_arn if name_or_arn.startswith("arn:") else execution_arn(self.state_machine_arn, name_or_arn)
        try:
            return str(self.client.describe_execution(executionArn=arn)["status"])
        except ClientError as exc:
            if _code(exc) == "ExecutionDoesNotExist":
                return None
            raise _mapped("DescribeExecution", exc) from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(f"DescribeExecution failed: {exc}") from exc

    def start(self, manifest_id: str, name: str) -> bool:
        """Start the execution ``name`` of a manifest: True if started now, False if it existed."""
        return start_execution(self.client, self.state_machine_arn, manifest_id, name)[1]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _mapped(call: str, exc: ClientError) -> Exception:
    code = _code(exc)
    if code in _THROTTLED:
        return Throttled(f"{call} throttled: {exc}")
    if code in ("StateMachineDoesNotExist", "InvalidArn", "AccessDeniedException"):
        return ConfigError(f"{call}: {exc}")
    if code in ("InvalidName", "InvalidExecutionInput", "ValidationException"):
        return TerminalError(f"{call}: {exc}")
    return StoreUnavailable(f"{call} failed: {exc}")


@dataclass
class AwsRecoveryReport:
    """What one scheduled recovery pass did (manifest ids, or counts of files)."""

    abandoned: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)  # by lease or owner record (embedded recovery)
    settled: list[str] = field(default_factory=list)
    compensated: list[str] = field(default_factory=list)
    redriven: list[str] = field(default_factory=list)  # RUNNING under an execution that ended or vanished
    started: list[str] = field(default_factory=list)  # execution names started by this pass
    listed: int = 0  # objects the listing of the landing prefix saw
    listed_older: int = 0  # of those, modified before the lookback window: not looked up in the store
    registered: int = 0  # new versions the listing registered (their events were lost)
    closed: list[str] = field(default_factory=list)  # manifests closed by this pass
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many of each (the pass's metrics)."""
        return {k: v if isinstance(v, int) else len(v) for k, v in vars(self).items()}


class AwsRecovery:
    """The scheduled recovery pass over a state store, a state machine and a landing prefix."""

    def __init__(
        self,
        store: StateStore,
        executions: Executions,
        settings: ScheduledSettings,
        executor: ManifestExecutor,
        *,
        landing_storage: Any = None,
        planner: Planner | None = None,
    ) -> None:
        self.store, self.executions, self.settings = store, executions, settings
        self.executor = executor  # settles and compensates (its engine removes a failed manifest's outputs)
        self.landing_storage = landing_storage
        self.planner = planner or Planner(store, settings.intake.batch)

    def run(
        self, now: float | None = None, *, list_landing: bool = True, full_listing: bool = False
    ) -> AwsRecoveryReport:
        """One pass (see the module doc); each part on its own: one that fails leaves the others.
        ``full_listing``: the listing looks up every object, whatever the lookback."""
        at = clock.now() if now is None else now
        report = AwsRecoveryReport()
        self._part(report, "embedded recovery", lambda: self._embedded(report, at))
        self._part(report, "executions", lambda: self._executions(report, at))
        if list_landing:
            self._part(report, "landing listing", lambda: self._list(report, at, full=full_listing))
        self._part(report, "closing", lambda: self._close(report, at))
        return report

    def _part(self, report: AwsRecoveryReport, name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as exc:  # the schedule runs again: report it, go on with the other parts
            log.warning("recovery part failed", extra={"part": name, "error": str(exc)})
            report.errors.append(f"{name}: {type(exc).__name__}: {exc}")

    def _embedded(self, report: AwsRecoveryReport, at: float) -> None:
        done = recover(self.store, self.executor, now=at)
        report.abandoned += done.abandoned
        report.requeued += done.requeued
        report.settled += done.settled
        report.compensated += done.compensated

    def _executions(self, report: AwsRecoveryReport, at: float) -> None:
        requeued = set(report.requeued)
        for manifest in list(self.store.live_manifests()):
            try:
                if manifest.state == ManifestState.RUNNING:
                    owner = Owner.parse(manifest.lease_owner or "")
                    if (
                        owner.kind != OwnerKind.SFN_EXECUTION
                        or decide_running(self.executions.status(owner.id)) != Action.REDRIVE
                    ):
                        continue
                    manifest = self.store.requeue(manifest, now=at)
                    report.redriven.append(manifest.manifest_id)
                    self._start_created(manifest, report)
                elif manifest.state == ManifestState.CREATED and (
                    manifest.manifest_id in requeued or manifest.updated_at + self.settings.start_deadline_s <= at
                ):
                    self._start_created(manifest, report)
            except ConditionFailed:
                continue  # its execution or another recoverer moved it on meanwhile

    def _start_created(self, manifest: Manifest, report: AwsRecoveryReport) -> None:
        """Start a CREATED manifest under the first name no ended execution holds."""
        for run in range(manifest.runs, manifest.runs + MAX_NAMES_TRIED):
            name = execution_name(manifest.manifest_id, run)
            action = decide_created(self.executions.status(name))
            if action == Action.LEAVE:
                return
            if action == Action.START:
                if self.executions.start(manifest.manifest_id, name):
                    report.started.append(name)
                    log.info("execution started", extra={"manifest_id": manifest.manifest_id, "execution": name})
                return
        log.warning("no free execution name: left for the next pass", extra={"manifest_id": manifest.manifest_id})

    def _list(self, report: AwsRecoveryReport, at: float, *, full: bool) -> None:
        bucket, prefix = self.settings.intake.bucket_and_prefix
        source = S3Source(bucket=bucket, prefix=prefix, storage=self.landing_storage)
        intake, lookback = self.settings.intake, self.settings.listing_lookback_s
        since = at - lookback if lookback > 0 and not full else None
        done = ingest(
            source, self.store, intake.partitioner, now=at, on_changed=intake.on_changed, modified_since=since
        )
        report.listed += done.listed
        report.listed_older += done.older
        report.registered += done.new
        if done.new:
            log.info("objects registered by the listing (their events were lost)", extra={"files": done.new})

    def _close(self, report: AwsRecoveryReport, at: float) -> None:
        for claim in self.planner.close_ready(now=at):
            report.closed.append(claim.manifest.manifest_id)
            self._start_created(claim.manifest, report)
