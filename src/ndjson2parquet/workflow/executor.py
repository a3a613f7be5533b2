"""Run one manifest as a small Saga: start → convert → commit, or fail → remove outputs → compensate.

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

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..backoff import Backoff
from ..config.settings import ConversionOptions
from ..conversion.engine import ConversionJob, ConversionResult, Engine, InputFile, OutputFile
from ..domain import clock
from ..domain.errors import ConditionFailed, PipelineError, ResourceExhausted, exhaustion
from ..domain.records import FileRecord, Manifest
from ..lake.record_store import CommitRecords, LocalCommitRecords
from ..state.base import StateStore
from .lake_commits import record_of, ref_of
from .lease import Heartbeat
from .schema_sync import settle_schema

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
    """Executes manifests with one engine against one state store."""

    def __init__(
        self,
        store: StateStore,
        engine: Engine,
        layout: Layout,
        options: ConversionOptions,
        owner: str,
        backoff: Backoff | None = None,
        commit_records: CommitRecords | None = None,
    ) -> None:
        self.store, self.engine, self.layout, self.options, self.owner = store, engine, layout, options, owner
        self.backoff = backoff or Backoff(base=0.5, cap=30.0, attempts=4)
        #: told (manifest id, files, bytes) as the engine reads the inputs: progress within a manifest
        self.on_file_read: Callable[[str, int, int], None] | None = None
        self.commit_records = commit_records or LocalCommitRecords(layout.output_root)
        self.halted = threading.Event()  # set once resources ran out: no manifest is started after that

    def job_for(self, manifest: Manifest, records: list[FileRecord] | None = None) -> ConversionJob:
        """The conversion job of a manifest: its files, where to write, the dataset's schema."""
        records = list(self.store.files_of(manifest)) if records is None else records
        files = tuple(InputFile(r.file_id, r.uri, r.size, r.version, r.start_offset, r.first_line) for r in records)
        stored = self.store.get_schema(manifest.dataset)
        report, manifest_id = self.on_file_read, manifest.manifest_id
        return ConversionJob(
            manifest_id=manifest.manifest_id,
            dataset=manifest.dataset,
            date=manifest.date,
            files=files,
            output_root=self.layout.output_root,
            quarantine_root=self.layout.quarantine_root,
            options=self.options,
            schema_json=stored[1] if stored else None,
            schema_version=stored[0] if stored else 0,
            on_file_read=None if report is None else lambda files, size: report(manifest_id, files, size),
        )

    def execute(self, manifest_id: str, records: list[FileRecord] | None = None) -> Outcome:
        """Start the manifest under our lease and see it to SUCCEEDED or compensated.

        ``records``: its files, when the caller has just claimed them (else they are read).
        """
        began = time.monotonic()
        if self.halted.is_set():
            return Outcome(manifest_id, "SKIPPED")  # left CREATED: a later run re-drives it
        try:
            manifest = self.store.start(manifest_id, self.owner)
        except ConditionFailed:
            return Outcome(manifest_id, "SKIPPED")
        except ResourceExhausted as exc:  # the state store is full: the manifest stays CREATED
            self.halted.set()
            return Outcome(manifest_id, "SKIPPED", error=str(exc), exhausted=exc)
        log.info("manifest started", extra={"manifest_id": manifest_id, "run": manifest.runs})
        exhausted: ResourceExhausted | None = None
        with Heartbeat(self.store, manifest, self.owner, self.store.policy.lease_s / 3) as beat:
            try:
                if manifest.runs > 1:  # an earlier run may have left a record naming parts about to change
                    self.commit_records.delete(ref_of(manifest))
                if records is None or {r.file_id for r in records} != set(manifest.file_ids):
                    records = list(self.store.files_of(manifest))
                job = self.job_for(manifest, records)
                result = self.backoff.call(lambda: self.engine.convert(job))
                if beat.lost.is_set():
                    raise ConditionFailed("lease lost during conversion")
                # the schema is decided per dataset: stored conditionally, converted again if it moved on
                result = settle_schema(
                    self.store, job, result, lambda again: self.backoff.call(lambda: self.engine.convert(again))
                )
                if beat.lost.is_set():
                    raise ConditionFailed("lease lost during conversion")
                stats = _stats(result)
                self.commit_records.write(record_of(manifest, records, result, self.layout.output_root, stats))
                committed = self.store.succeed(
                    manifest,
                    self.owner,
                    [o.path for o in result.outputs],
                    result.ledgers,
                    stats=stats,
                )
            except ConditionFailed as exc:
                # someone else owns the manifest now: never touch its outputs, they may be theirs
                log.warning("manifest taken over", extra={"manifest_id": manifest_id, "error": str(exc)})
                return Outcome(manifest_id, "SKIPPED", error=str(exc), seconds=time.monotonic() - began)
            except Exception as exc:  # any failure of this attempt: compensate, files retry later
                exhausted = exhaustion(exc)
                if exhausted is None:
                    _log_failure(manifest_id, exc)
                    self.fail_and_compensate(manifest, f"{type(exc).__name__}: {exc}")
                    return Outcome(manifest_id, "FAILED", error=str(exc), seconds=time.monotonic() - began)
        if exhausted is not None:  # the heartbeat is stopped: it cannot race the requeue
            return self._put_back(manifest, exhausted, time.monotonic() - began)
        return self._outcome(committed, records, result, time.monotonic() - began)

    def _put_back(self, manifest: Manifest, exhausted: ResourceExhausted, seconds: float) -> Outcome:
        """Resources ran out: remove what this attempt wrote, requeue the manifest, start nothing more."""
        self.halted.set()
        extra = {"manifest_id": manifest.manifest_id, "error": str(exhausted)}
        if exhausted.uri:
            extra["uri"] = exhausted.uri
        log.error("resources exhausted: manifest put back, no attempt spent", extra=extra)
        try:
            self.commit_records.delete(ref_of(manifest))  # as compensation does: no record names a removed part
            self.engine.remove_outputs(self.job_for(manifest))
            self.store.requeue(manifest)
        except ConditionFailed:
            pass  # someone else holds it now
        except Exception as exc:  # e.g. the state store is full too: recovery requeues it once we are gone
            log.warning("manifest left RUNNING for recovery", extra={**extra, "error": repr(exc)})
        return Outcome(manifest.manifest_id, "REQUEUED", error=str(exhausted), seconds=seconds, exhausted=exhausted)

    def fail_and_compensate(self, manifest: Manifest, error: str) -> Manifest:
        """FAILED, its outputs removed, its files released (or FAILED after max attempts)."""
        try:
            manifest = self.store.fail(manifest, self.owner if manifest.lease_owner else None, error)
        except ConditionFailed:
            return self.store.get_manifest(manifest.manifest_id)  # someone else decides its fate now
        return self.compensate(manifest)

    def compensate(self, manifest: Manifest) -> Manifest:
        """Remove a FAILED manifest's commit record, then its outputs, then release its files."""
        self.commit_records.delete(ref_of(manifest))
        self.engine.remove_outputs(self.job_for(manifest))
        return self.store.compensate(manifest)

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


def _log_failure(manifest_id: str, exc: Exception) -> None:
    """One ERROR line saying what failed (type, message, the file when known); the traceback at DEBUG."""
    kind = "transient" if isinstance(exc, PipelineError) and exc.transient else "terminal"
    extra = {"manifest_id": manifest_id, "kind": kind, "error_type": type(exc).__name__, "error": str(exc)}
    uri = getattr(exc, "uri", None)
    if uri:
        extra["uri"] = uri
    log.error("manifest failed", extra=extra)
    log.debug("manifest failed: traceback", extra={"manifest_id": manifest_id}, exc_info=exc)


def _stats(result: ConversionResult) -> dict[str, object]:
    return {
        "rows_written": result.rows_written,
        "rows_quarantined": result.rows_quarantined,
        "values_rescued": result.values_rescued,
        "bytes_in": result.bytes_in,
        "bytes_out": sum(o.bytes for o in result.outputs),
        "quarantine": result.quarantine_path,
    }
