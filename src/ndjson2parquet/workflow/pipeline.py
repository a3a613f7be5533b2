"""The embedded pipeline: recover, ingest, batch, convert with a pool of workers, seal, report."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from ..batching.planner import Planner
from ..config.settings import RunOptions
from ..conversion.engine import Engine
from ..domain.errors import ResourceExhausted
from ..domain.states import FileState
from ..ingest.registration import IngestReport, ingest
from ..ingest.sources import Source
from ..state.base import StateStore
from .executor import Layout, ManifestExecutor, Outcome
from .lake_commits import check_lake_known
from .lease import Owner, OwnerPresence
from .recovery import RecoveryReport, recover
from .report import RunReport
from .sealing import seal_ready

log = logging.getLogger(__name__)

_RELISTINGS = 3  # how often `run` lists again for files deferred behind a version being converted


@dataclass(frozen=True)
class Progress:
    """Totals so far, for a progress bar.

    ``files_reading`` / ``bytes_reading``: files of manifests still converting that the engine has
    read already, so a bar advances during a long manifest, not only when it commits.
    """

    files_total: int
    files_done: int
    bytes_done: int
    rows_written: int
    files_reading: int = 0
    bytes_reading: int = 0


class Pipeline:
    """One landing zone, one state store, one engine, one lake."""

    def __init__(
        self,
        store: StateStore,
        engine: Engine,
        layout: Layout,
        options: RunOptions,
        context: dict[str, object] | None = None,
    ) -> None:
        self.store, self.engine, self.layout, self.options = store, engine, layout, options
        self.context = dict(context or {})  # input, output, options…: copied into every run report
        self.owner = str(Owner.process())
        self.executor = ManifestExecutor(store, engine, layout, options.conversion, self.owner)
        # our owner record, alive while run or watch works: recovery elsewhere requeues our manifests
        # once it expires (we were killed), not while we convert them
        self.presence = OwnerPresence(store, self.owner, store.policy.owner_ttl_s)
        self.planner = Planner(store, options.batch)
        self._unchanged: dict[str, str] = {}  # touched files found unchanged: not hashed at every poll

    def check_lake(self) -> None:
        """Refuse (StateBehindLake) when the lake holds committed manifests the state does not know."""
        check_lake_known(self.executor.commit_records, self.store, self.layout.output_root)

    def recover(self) -> RecoveryReport:
        """Re-drive what crashed runs left behind (see workflow.recovery)."""
        return recover(self.store, self.executor)

    def run(self, source: Source, on_progress: Callable[[Progress], None] | None = None) -> RunReport:
        """One shot: convert everything in the landing zone, flush partial batches, seal what is due."""
        self.check_lake()
        with self.presence:
            return self._run(source, on_progress)

    def _run(self, source: Source, on_progress: Callable[[Progress], None] | None) -> RunReport:
        report = RunReport(context=self.context)
        recovered = self.recover()
        report.recovery = recovered.as_dict()
        listing = _Listing(source, self._ingest, self.options)  # a daemon: an error below leaves it to die with us
        self._drain(recovered.runnable, report, on_progress, drain=True, listing=listing)
        listed = listing.result()
        for _ in range(_RELISTINGS):
            if not listed.deferred:
                break
            # a newer version of a file met an older one being converted: once that one is finished,
            # the newer is registered and converted in this run too, not left to the next
            listed.deferred, before = 0, listed.listed
            self._ingest(source, listed)
            listed.listed = max(before, listed.listed - before)
            self._drain([], report, on_progress, drain=True)
        report.ingest = listed.as_dict()
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
        self.check_lake()
        with self.presence:
            return self._watch(source, stop, poll_s, on_cycle)

    def _watch(
        self,
        source: Source,
        stop: threading.Event,
        poll_s: float,
        on_cycle: Callable[[RunReport], None] | None,
    ) -> RunReport:
        total = RunReport()
        while not stop.is_set():
            cycle = RunReport(context=self.context)
            recovered = self.recover()
            cycle.ingest = self._ingest(source).as_dict()
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
        listing: _Listing | None = None,
    ) -> None:
        """Run manifests until none is ready and none runs: failed ones release files, planned again.

        While ``listing`` still registers files, only full manifests close (the remainders wait for
        the end of the listing), and the planner looks again each time a manifest's worth was listed.
        """
        self.executor.halted.clear()  # a new pass: the shortage that stopped an earlier one may be over
        backlog = self._backlog()
        tracker = _Tracker(report, on_progress, backlog)
        self.executor.on_file_read = tracker.file_read if on_progress is not None else None
        listing_done = listing is None
        with ThreadPoolExecutor(self.options.workers, thread_name_prefix="worker") as pool:
            in_flight = {pool.submit(self.executor.execute, manifest_id) for manifest_id in runnable}
            while not (stop and stop.is_set()) and not self.executor.halted.is_set():
                listed = listing.listed if listing is not None else 0
                if not listing_done and listing is not None and listing.done():
                    listing_done = True
                    tracker.set_total(tracker.progress.files_done + self._backlog())  # now exact
                planned = 0
                for claim in self.planner.close_ready(drain=drain and listing_done):
                    planned += 1
                    in_flight.add(pool.submit(self.executor.execute, claim.manifest.manifest_id, claim.files))
                    while len(in_flight) >= 2 * self.options.workers:  # a bounded queue: flat memory
                        in_flight = tracker.collect(in_flight, FIRST_COMPLETED)
                    if (stop and stop.is_set()) or self.executor.halted.is_set():
                        break
                if planned:
                    continue
                if listing is not None and not listing_done:
                    in_flight = tracker.harvest(in_flight)
                    tracker.set_total(max(tracker.progress.files_total, backlog + listing.listed))
                    listing.wait_for(listed + self.options.batch.max_files + self.store.write_chunk)
                    continue
                if not in_flight:
                    return
                in_flight = tracker.collect(in_flight, ALL_COMPLETED)
            if self.executor.halted.is_set():
                self._halt(in_flight, tracker)

    def _halt(self, in_flight: set[Future[Outcome]], tracker: _Tracker) -> None:
        """Resources ran out: start nothing more, let the manifests under way finish, stop the run.

        Raised before sealing: no date is sealed by a run that stopped so. Every manifest put back is
        CREATED with its files CLAIMED in it and their attempts unchanged: the next run re-drives it.
        """
        for future in in_flight:
            future.cancel()  # not started yet: the manifest stays CREATED
        tracker.collect({f for f in in_flight if not f.cancelled()}, ALL_COMPLETED)
        cause = tracker.exhausted
        put_back = tracker.report.manifests.get("REQUEUED", 0)
        raise ResourceExhausted(
            f"run stopped, resources exhausted: {cause}. Nothing was lost and no attempt was spent "
            f"({put_back} manifest(s) put back): free some room, then run again",
            uri=cause.uri if cause is not None else None,
        ) from cause

    def _ingest(self, source: Source, report: IngestReport | None = None) -> IngestReport:
        """One ingest pass with this pipeline's settle period and changed-file policy."""
        options = self.options
        return ingest(
            source,
            self.store,
            options.partitioner,
            report=report,
            settle_s=options.settle_s,
            on_changed=options.on_changed,
            unchanged=self._unchanged,
        )

    def _backlog(self) -> int:
        counts = self.store.counts()["files"]
        return counts[FileState.PENDING.value] + counts[FileState.CLAIMED.value]

    def _finish(self, report: RunReport) -> None:
        sealed = seal_ready(
            self.store, self.options.batch, output_root=self.layout.output_root, storage=self.executor.storage
        )
        report.sealed_dates = [s.label() for s in sealed]
        report.sealed = [{"dataset": s.dataset, "date": s.date, "clean": s.clean, "files": s.files} for s in sealed]
        report.failed_files = self.store.counts()["files"][FileState.FAILED.value]
        if report.failed_files:
            self._note_failed_since(report)
        report.finished_at = time.time()

    def _note_failed_since(self, report: RunReport) -> None:
        """Name the files that ended FAILED during this run (their last change is after its start)."""
        for status in self.store.dates():
            if not status.files.get(FileState.FAILED.value):
                continue
            cursor: str | None = None
            while True:
                page = self.store.failed(status.dataset, status.date, self.store.policy.page_size, cursor)
                for r in page.items:
                    if r.updated_at >= report.started_at:
                        report.note_failed(r.uri, r.dataset, r.date, r.attempts, r.error)
                if page.cursor is None:
                    break
                cursor = page.cursor


class _Listing:
    """An ingest pass on a thread of its own: conversion starts while the landing zone is still listed."""

    def __init__(
        self, source: Source, ingest_pass: Callable[[Source, IngestReport], IngestReport], options: RunOptions
    ) -> None:
        self._report = IngestReport()
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(source, ingest_pass, options), name="ingest", daemon=True
        )
        self._thread.start()

    def _run(
        self, source: Source, ingest_pass: Callable[[Source, IngestReport], IngestReport], options: RunOptions
    ) -> None:
        try:
            ingest_pass(source, self._report)
            # files still being written are not left out silently: list again once they may have
            # settled, for at most settle_wait_s; what is still unsettled then stays in the report
            deadline = time.monotonic() + options.settle_wait_s
            while self._report.unsettled and time.monotonic() < deadline:
                time.sleep(min(max(options.settle_s / 2, 0.05), max(deadline - time.monotonic(), 0.0)))
                before = self._report.listed
                ingest_pass(source, self._report)
                self._report.listed = max(before, self._report.listed - before)  # the same files again
        except BaseException as exc:  # re-raised on the caller's thread by result()
            self._error = exc
        finally:
            self._done.set()

    @property
    def listed(self) -> int:
        """Objects listed so far."""
        return self._report.listed

    def done(self) -> bool:
        """True once every object is listed and registered (or the listing failed)."""
        return self._done.is_set()

    def wait_for(self, listed: int, poll_s: float = 0.05) -> None:
        """Return once ``listed`` objects are listed, or the listing is over."""
        while self._report.listed < listed and not self._done.wait(poll_s):
            pass

    def result(self) -> IngestReport:
        """The finished ingest; its error, if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._report


class _Tracker:
    """Adds finished manifests to the report and tells the progress callback."""

    #: the least time between two progress calls made while manifests convert
    READ_EVERY_S = 0.25

    def __init__(self, report: RunReport, on_progress: Callable[[Progress], None] | None, files_total: int) -> None:
        self.report, self.on_progress = report, on_progress
        self.progress = Progress(files_total, 0, 0, 0)
        self._lock = threading.Lock()  # file_read comes from the workers' threads
        self._reading: dict[str, tuple[int, int]] = {}  # manifest id → (files, bytes) read so far
        self._told_at = 0.0
        self.exhausted: ResourceExhausted | None = None  # the first shortage a manifest was put back for

    def file_read(self, manifest_id: str, files: int, size: int) -> None:
        """The engine read ``files`` more files (``size`` bytes) of a converting manifest (from a worker's thread)."""
        with self._lock:
            read, nbytes = self._reading.get(manifest_id, (0, 0))
            self._reading[manifest_id] = (read + files, nbytes + size)
            now = time.monotonic()
            if now - self._told_at < self.READ_EVERY_S:
                return
            self._told_at = now
            self._with_reading()
            progress = self.progress
        if self.on_progress is not None:
            self.on_progress(progress)

    def _with_reading(self) -> None:
        files = sum(f for f, _ in self._reading.values())
        nbytes = sum(b for _, b in self._reading.values())
        self.progress = replace(self.progress, files_reading=files, bytes_reading=nbytes)

    def set_total(self, files_total: int) -> None:
        """The number of files to convert, as far as it is known yet."""
        with self._lock:
            self.progress = replace(self.progress, files_total=files_total)
            progress = self.progress
        if self.on_progress is not None:
            self.on_progress(progress)

    def harvest(self, futures: set[Future[Outcome]]) -> set[Future[Outcome]]:
        """Record what has finished, without waiting; return the rest."""
        finished = {f for f in futures if f.done()}
        self.collect(finished, ALL_COMPLETED)
        return futures - finished

    def collect(self, futures: set[Future[Outcome]], return_when: str) -> set[Future[Outcome]]:
        """Wait as asked, record what finished, return what is still running."""
        finished, running = wait(futures, return_when=return_when)
        for future in finished:
            outcome = future.result()
            self.report.add(outcome)
            if outcome.exhausted is not None and self.exhausted is None:
                self.exhausted = outcome.exhausted
            with self._lock:
                self._reading.pop(outcome.manifest_id, None)  # committed, failed or skipped: no longer reading
                if outcome.state == "SUCCEEDED":
                    p = self.progress
                    self.progress = replace(
                        p,
                        files_total=max(p.files_total, p.files_done + outcome.files),
                        files_done=p.files_done + outcome.files,
                        bytes_done=p.bytes_done + outcome.bytes_in,
                        rows_written=p.rows_written + outcome.rows_written,
                    )
                self._with_reading()
                progress = self.progress
            if self.on_progress is not None:
                self.on_progress(progress)
        return running
