"""The embedded pipeline: recover, ingest, batch, convert with a pool of workers, seal, report."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ..batching.planner import Planner
from ..config.settings import RunOptions
from ..conversion.engine import Engine
from ..domain.states import FileState
from ..ingest.registration import ingest
from ..ingest.sources import Source
from ..state.base import StateStore
from .executor import Layout, ManifestExecutor, Outcome
from .lease import owner_token
from .recovery import RecoveryReport, recover
from .report import RunReport
from .sealing import seal_ready

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """Totals so far, for a progress bar."""

    files_total: int
    files_done: int
    bytes_done: int
    rows_written: int


class Pipeline:
    """One landing zone, one state store, one engine, one lake."""

    def __init__(self, store: StateStore, engine: Engine, layout: Layout, options: RunOptions) -> None:
        self.store, self.engine, self.layout, self.options = store, engine, layout, options
        self.owner = owner_token()
        self.executor = ManifestExecutor(store, engine, layout, options.conversion, self.owner)
        self.planner = Planner(store, options.batch)

    def recover(self) -> RecoveryReport:
        """Re-drive what crashed runs left behind (see workflow.recovery)."""
        return recover(self.store, self.executor)

    def run(self, source: Source, on_progress: Callable[[Progress], None] | None = None) -> RunReport:
        """One shot: convert everything in the landing zone, flush partial batches, seal what is due."""
        report = RunReport()
        recovered = self.recover()
        report.recovery = recovered.as_dict()
        report.ingest = ingest(source, self.store, self.options.partitioner).as_dict()
        self._drain(recovered.runnable, report, on_progress, drain=True)
        self._finish(report)
        return report

    def watch(
        self,
        source: Source,
        stop: threading.Event,
        poll_s: float = 5.0,
        on_cycle: Callable[[RunReport], None] | None = None,
    ) -> RunReport:
        """Continuous: poll the landing zone, close manifests per policy, seal days, until `stop` is set."""
        total = RunReport()
        while not stop.is_set():
            cycle = RunReport()
            recovered = self.recover()
            cycle.ingest = ingest(source, self.store, self.options.partitioner).as_dict()
            self._drain(recovered.runnable, cycle, None, drain=False, stop=stop)
            self._finish(cycle)
            for outcome_state, n in cycle.manifests.items():
                total.manifests[outcome_state] = total.manifests.get(outcome_state, 0) + n
            if on_cycle is not None:
                on_cycle(cycle)
            stop.wait(poll_s)
        total.finished_at = time.time()
        return total

    # ------------------------------------------------------------------------------------------
    def _drain(
        self,
        runnable: Iterable[str],
        report: RunReport,
        on_progress: Callable[[Progress], None] | None,
        *,
        drain: bool,
        stop: threading.Event | None = None,
    ) -> None:
        """Run manifests until none is ready: failed ones release files, which are planned again."""
        counts = self.store.counts()["files"]
        tracker = _Tracker(report, on_progress, counts[FileState.PENDING.value] + counts[FileState.CLAIMED.value])
        backlog = list(runnable)
        with ThreadPoolExecutor(self.options.workers, thread_name_prefix="worker") as pool:
            while not (stop and stop.is_set()):
                in_flight = {pool.submit(self.executor.execute, manifest_id) for manifest_id in backlog}
                backlog = []
                planned = 0
                for manifest in self.planner.close_ready(drain=drain):
                    planned += 1
                    in_flight.add(pool.submit(self.executor.execute, manifest.manifest_id))
                    while len(in_flight) >= 2 * self.options.workers:  # a bounded queue: flat memory
                        in_flight = tracker.collect(in_flight, FIRST_COMPLETED)
                    if stop and stop.is_set():
                        break
                tracker.collect(in_flight, ALL_COMPLETED)
                if not planned:
                    return

    def _finish(self, report: RunReport) -> None:
        report.sealed_dates = [f"{d}/{day}" for d, day in seal_ready(self.store, self.options.batch)]
        report.failed_files = self.store.counts()["files"][FileState.FAILED.value]
        report.finished_at = time.time()


class _Tracker:
    """Adds finished manifests to the report and tells the progress callback."""

    def __init__(self, report: RunReport, on_progress: Callable[[Progress], None] | None, files_total: int) -> None:
        self.report, self.on_progress = report, on_progress
        self.progress = Progress(files_total, 0, 0, 0)

    def collect(self, futures: set[Future[Outcome]], return_when: str) -> set[Future[Outcome]]:
        """Wait as asked, record what finished, return what is still running."""
        finished, running = wait(futures, return_when=return_when)
        for future in finished:
            outcome = future.result()
            self.report.add(outcome)
            if outcome.state == "SUCCEEDED":
                p = self.progress
                self.progress = Progress(
                    max(p.files_total, p.files_done + outcome.files),
                    p.files_done + outcome.files,
                    p.bytes_done + outcome.bytes_in,
                    p.rows_written + outcome.rows_written,
                )
            if self.on_progress is not None:
                self.on_progress(self.progress)
        return running
