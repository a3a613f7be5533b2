"""The scheduled end-of-day flush and seal on AWS, per dataset and date.

One pass (`SealPass.run`), idempotent and safe beside the intake and the recovery:

1. flush: every (dataset, date) past its grace period with files still PENDING has its remainder
   closed (reason ``seal``; full ones as ``max_files``/``target_bytes``) and each manifest's
   execution started under its id (a start that existed is a no-op); up to ``FLUSH_THREADS``
   dates at once (review Q12);
2. seal: `workflow.sealing.seal_ready` over the state store seals every date past grace with
   nothing PENDING or CLAIMED, and a clean seal writes ``_SUCCESS`` into the date's partition of
   the S3 lake. A date whose manifests are still running stays open until a later pass: the flush
   of one pass is sealed by the next one once its executions committed.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..batching.planner import Planner, past_grace
from ..config.settings import ScheduledSettings
from ..domain import clock
from ..domain.records import DateStatus
from ..domain.states import FileState
from ..state.base import StateStore
from ..workflow.sealing import Sealed, seal_ready
from .recovery import Executions, execution_name

log = logging.getLogger(__name__)

FLUSH_THREADS = 4  # dates flushed at once


@dataclass
class SealReport:
    """What one seal pass did."""

    closed: list[str] = field(default_factory=list)  # manifests the flush closed
    started: list[str] = field(default_factory=list)  # executions it started
    sealed: list[Sealed] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many of each (the pass's metrics)."""
        clean = sum(1 for s in self.sealed if s.clean)
        return {
            "closed": len(self.closed),
            "started": len(self.started),
            "sealed": len(self.sealed),
            "sealed_clean": clean,
            "sealed_with_problems": len(self.sealed) - clean,
            "errors": len(self.errors),
        }


class SealPass:
    """Flushes and seals the dates past their grace period."""

    def __init__(
        self,
        store: StateStore,
        executions: Executions,
        settings: ScheduledSettings,
        *,
        lake_storage: Any = None,
        planner: Planner | None = None,
    ) -> None:
        self.store, self.executions, self.settings = store, executions, settings
        self.lake_storage = lake_storage
        self.planner = planner or Planner(store, settings.intake.batch)

    def run(self, now: float | None = None) -> SealReport:
        """Flush, then seal (see the module doc)."""
        at = clock.now() if now is None else now
        report = SealReport()
        policy = self.settings.intake.batch
        due = [
            status
            for status in self.store.dates()
            if status.sealed_at is None
            and status.files.get(FileState.PENDING.value, 0)
            and past_grace(status.date, policy, at)
        ]
        # review Q12: the dates are independent (each flush is a few queries and conditional claims),
        # so they are flushed side by side; a date's reports are merged in date order
        if due:
            with ThreadPoolExecutor(min(FLUSH_THREADS, len(due)), thread_name_prefix="n2p-flush") as pool:
                for flushed in pool.map(lambda status: self._flush(status, at), due):
                    report.closed += flushed.closed
                    report.started += flushed.started
                    report.errors += flushed.errors
        lake = self.settings.aws.lake
        report.sealed = seal_ready(self.store, policy, now=at, output_root=lake, storage=self.lake_storage)
        return report

    def _flush(self, status: DateStatus, at: float) -> SealReport:
        """Close what is left of one date past grace and start each manifest's execution."""
        report = SealReport()
        try:
            for claim in self.planner.close_date(status.dataset, status.date, now=at):
                report.closed.append(claim.manifest.manifest_id)
                if self.executions.start(claim.manifest.manifest_id, execution_name(claim.manifest.manifest_id, 0)):
                    report.started.append(claim.manifest.manifest_id)
        except Exception as exc:  # this date alone: the next pass closes what is left
            log.warning("flush failed", extra={"dataset": status.dataset, "date": status.date, "error": str(exc)})
            report.errors.append(f"{status.dataset}/{status.date}: {type(exc).__name__}: {exc}")
        return report
