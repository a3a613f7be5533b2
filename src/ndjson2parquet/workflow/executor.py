"""Run one manifest as a small Saga, in process: the steps of `workflow.steps` (start → convert →
commit, or fail → compensate, or put back), one after the other, their documents passed along.

The manifest's SUCCEEDED write is the commit point. Everything before it can be repeated (names
are deterministic, a re-run replaces its own parts); everything after it (settling files) is
idempotent and finished by recovery if the process dies half way. Just before the commit point the
manifest's commit record goes into the lake (see `lake_commits`); a re-run deletes it before it
touches the parts, and so does compensation: no record ever names a part that is not there.

Running out of disk, memory or file handles (``ResourceExhausted``) is no failure of the manifest:
its outputs are removed and it is put back (RUNNING → CREATED, its files still CLAIMED in it, no
attempt spent), to be re-driven under the same id by a later run; the executor then starts nothing
more (``halted``), and the pipeline stops the run.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..backoff import Backoff
from ..config.settings import ConversionOptions
from ..conversion.engine import ConversionResult, Engine, OutputFile
from ..domain import clock
from ..domain.errors import NotFound, ResourceExhausted
from ..domain.records import FileRecord, Manifest
from ..lake.record_store import CommitRecords, StorageCommitRecords
from ..state.base import StateStore
from ..storage import open_storage
from ..storage.base import Storage
from .steps import begin, finish
from .steps.context import StepContext
from .steps.document import Next, Seen, StepDocument

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layout:
    """Where a pipeline writes: the lake and the quarantine."""

    output_root: str
    quarantine_root: str


@dataclass
class Outcome:
    """What running one manifest did."""

    manifest_id: str
    state: str  # SUCCEEDED, FAILED, REQUEUED (put back: resources ran out), or SKIPPED (someone else runs it)
    files: int = 0
    bytes_in: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    values_rescued: int = 0
    lines: int = 0
    blank: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (uri, reason) of files set aside whole
    outputs: list[OutputFile] = field(default_factory=list)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # per file: commit time - arrival time
    error: str | None = None
    dataset: str = ""
    date: str = ""
    quarantine: dict[str, object] | None = None  # {"path", "lines", "files": [{"uri", "lines"}]} when written
    exhausted: ResourceExhausted | None = None  # set with REQUEUED: what ran out


class ManifestExecutor:
    """Executes manifests with one engine against one state store: the steps of `workflow.steps`,
    run one after the other in this process."""

    def __init__(
        self,
        store: StateStore,
        engine: Engine,
        layout: Layout,
        options: ConversionOptions,
        owner: str,
        backoff: Backoff | None = None,
        commit_records: CommitRecords | None = None,
        storage: Storage | None = None,
    ) -> None:
        self.store, self.engine, self.layout, self.options, self.owner = store, engine, layout, options, owner
        self.backoff = backoff or Backoff(base=0.5, cap=30.0, attempts=4)
        #: told (manifest id, files, bytes) as the engine reads the inputs: progress within a manifest
        self.on_file_read: Callable[[str, int, int], None] | None = None
        self.storage = storage or open_storage(layout.output_root)  # the steps' work objects, records
        self.commit_records = commit_records or StorageCommitRecords(layout.output_root, self.storage)
        self.halted = threading.Event()  # set once resources ran out: no manifest is started after that

    def context(self) -> StepContext:
        """What the steps run against (read at each call: tests swap the engine or the backoff)."""
        return StepContext(self.store, self.engine, self.storage, self.commit_records, self.backoff, self.on_file_read)

    def document(self, manifest_id: str) -> StepDocument:
        """The document this executor starts a manifest's steps with."""
        return StepDocument.begin(
            manifest_id,
            self.owner,
            self.layout.output_root,
            self.layout.quarantine_root,
            self.options,
            owner_ttl_s=self.store.policy.owner_ttl_s,
        )

    def execute(self, manifest_id: str, records: list[FileRecord] | None = None) -> Outcome:
        """Start the manifest under our lease and see it to SUCCEEDED or compensated.

        ``records``: its files, when the caller has just claimed them (else they are read).
        """
        began = time.monotonic()
        if self.halted.is_set():
            return Outcome(manifest_id, "SKIPPED")  # left CREATED: a later run re-drives it
        ctx = self.context()
        try:
            doc = begin.start(ctx, self.document(manifest_id))
        except ResourceExhausted as exc:  # the state store is full: the manifest stays CREATED
            self.halted.set()
            return Outcome(manifest_id, "SKIPPED", error=str(exc), exhausted=exc)
        if doc.state != Seen.RUNNING:
            return Outcome(manifest_id, "SKIPPED")
        converted = begin.convert(ctx, doc, records)
        step, error, exhausted = converted.doc, converted.error, converted.exhausted
        committed: finish.Committed | None = None
        if step.next == Next.COMMIT and converted.conversion is not None:
            committed = finish.commit(ctx, step, converted.conversion)
            step, error, exhausted = committed.doc, committed.error, committed.exhausted
        seconds = time.monotonic() - began
        if step.next == Next.PUT_BACK and exhausted is not None:
            return self._put_back(ctx, step, exhausted, seconds)
        if step.next == Next.FAIL:
            finish.fail(ctx, step)
            return Outcome(manifest_id, "FAILED", error=str(error), seconds=seconds)
        if step.state == Seen.SUCCEEDED and committed is not None and committed.manifest is not None:
            conversion = converted.conversion
            assert conversion is not None and conversion.records is not None  # commit only follows a conversion
            return self._outcome(committed.manifest, list(conversion.records), conversion.result, seconds)
        return Outcome(manifest_id, "SKIPPED", error=step.error, seconds=seconds)

    def _put_back(self, ctx: StepContext, doc: StepDocument, exhausted: ResourceExhausted, seconds: float) -> Outcome:
        """Resources ran out: remove what this attempt wrote, requeue the manifest, start nothing more."""
        self.halted.set()
        extra = {"manifest_id": doc.manifest_id, "error": str(exhausted)}
        if exhausted.uri:
            extra["uri"] = exhausted.uri
        log.error("resources exhausted: manifest put back, no attempt spent", extra=extra)
        try:
            finish.put_back(ctx, doc)
        except Exception as exc:  # e.g. the state store is full too: recovery requeues it once we are gone
            log.warning("manifest left RUNNING for recovery", extra={**extra, "error": repr(exc)})
        return Outcome(doc.manifest_id, "REQUEUED", error=str(exhausted), seconds=seconds, exhausted=exhausted)

    def compensate(self, manifest: Manifest) -> Manifest:
        """Remove a FAILED manifest's commit record, then its outputs, then release its files."""
        doc = dataclasses.replace(self.document(manifest.manifest_id), run=manifest.runs)
        finish.compensate(self.context(), doc)
        return self.store.get_manifest(manifest.manifest_id)

    def settle(self, manifest: Manifest) -> Manifest:
        """Finish a SUCCEEDED manifest's commit: its files settled, its work objects removed."""
        doc = dataclasses.replace(self.document(manifest.manifest_id), run=manifest.runs)
        committed = finish.commit(self.context(), doc)
        return committed.manifest or self.store.get_manifest(manifest.manifest_id)

    def sweep_work(self) -> list[str]:
        """Remove the work objects of manifests that are settled (a crash between a commit or a
        compensation and its clean-up left them); return those manifests' ids."""
        work = self.context().work
        swept = []
        for manifest_id, urls in work.by_manifest(self.layout.output_root).items():
            try:
                manifest = self.store.get_manifest(manifest_id)
            except NotFound:
                manifest = None  # its state is gone (a rebuilt store): nothing will commit it
            if manifest is None or manifest.settled:
                self.storage.delete(urls)
                swept.append(manifest_id)
        return swept

    def _outcome(
        self, manifest: Manifest, records: list[FileRecord], result: ConversionResult, seconds: float
    ) -> Outcome:
        committed_at = clock.now()
        ledgers = result.ledgers
        return Outcome(
            manifest_id=manifest.manifest_id,
            state=manifest.state.value,
            files=len(records),
            bytes_in=result.bytes_in,
            rows_written=result.rows_written,
            rows_quarantined=result.rows_quarantined,
            values_rescued=result.values_rescued,
            lines=sum(ledgers[r.file_id].lines for r in records),
            blank=sum(ledgers[r.file_id].blank for r in records),
            rejected=[(r.uri, ledgers[r.file_id].rejection or "") for r in records if ledgers[r.file_id].rejection],
            outputs=list(result.outputs),
            seconds=seconds,
            latencies=[max(0.0, committed_at - r.arrived_at) for r in records],
            dataset=manifest.dataset,
            date=manifest.date,
            quarantine=_quarantine_entry(result, records),
        )


def _quarantine_entry(result: ConversionResult, records: list[FileRecord]) -> dict[str, object] | None:
    """The manifest's quarantine file with each input file's count of lines in it (for the run report)."""
    if not result.quarantine_path:
        return None
    per_file = [
        {"uri": r.uri, "lines": result.ledgers[r.file_id].rows_quarantined}
        for r in records
        if result.ledgers[r.file_id].rows_quarantined
    ]
    return {"path": result.quarantine_path, "lines": result.rows_quarantined, "files": per_file}
