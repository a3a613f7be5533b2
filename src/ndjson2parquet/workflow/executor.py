"""Run one manifest as a small Saga: start → convert → commit, or fail → remove outputs → compensate.

The manifest's SUCCEEDED write is the commit point. Everything before it can be repeated (names
are deterministic, a re-run replaces its own parts); everything after it (settling files) is
idempotent and finished by recovery if the process dies half way.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from ..backoff import Backoff
from ..config.settings import ConversionOptions
from ..conversion.engine import ConversionJob, ConversionResult, Engine, InputFile, OutputFile
from ..domain import clock
from ..domain.errors import ConditionFailed, PipelineError
from ..domain.records import FileRecord, Manifest
from ..state.base import StateStore
from .lease import Heartbeat
from .schema_sync import store_schema

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
    state: str  # SUCCEEDED, FAILED, or SKIPPED (someone else runs it)
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
    ) -> None:
        self.store, self.engine, self.layout, self.options, self.owner = store, engine, layout, options, owner
        self.backoff = backoff or Backoff(base=0.5, cap=30.0, attempts=4)

    def job_for(self, manifest: Manifest, records: list[FileRecord] | None = None) -> ConversionJob:
        """The conversion job of a manifest: its files, where to write, the dataset's schema."""
        records = list(self.store.files_of(manifest)) if records is None else records
        files = tuple(InputFile(r.file_id, r.uri, r.size, r.version, r.start_offset, r.first_line) for r in records)
        stored = self.store.get_schema(manifest.dataset)
        return ConversionJob(
            manifest_id=manifest.manifest_id,
            dataset=manifest.dataset,
            date=manifest.date,
            files=files,
            output_root=self.layout.output_root,
            quarantine_root=self.layout.quarantine_root,
            options=self.options,
            schema_json=stored[1] if stored else None,
        )

    def execute(self, manifest_id: str, records: list[FileRecord] | None = None) -> Outcome:
        """Start the manifest under our lease and see it to SUCCEEDED or compensated.

        ``records``: its files, when the caller has just claimed them (else they are read).
        """
        began = time.monotonic()
        try:
            manifest = self.store.start(manifest_id, self.owner)
        except ConditionFailed:
            return Outcome(manifest_id, "SKIPPED")
        log.info("manifest started", extra={"manifest_id": manifest_id, "run": manifest.runs})
        with Heartbeat(self.store, manifest, self.owner, self.store.policy.lease_s / 3) as beat:
            try:
                if records is None or {r.file_id for r in records} != set(manifest.file_ids):
                    records = list(self.store.files_of(manifest))
                job = self.job_for(manifest, records)
                result = self.backoff.call(lambda: self.engine.convert(job))
                if beat.lost.is_set():
                    raise ConditionFailed("lease lost during conversion")
                store_schema(self.store, manifest.dataset, result.schema_json)
                committed = self.store.succeed(
                    manifest,
                    self.owner,
                    [o.path for o in result.outputs],
                    result.ledgers,
                    stats=_stats(result),
                )
            except ConditionFailed as exc:
                # someone else owns the manifest now: never touch its outputs, they may be theirs
                log.warning("manifest taken over", extra={"manifest_id": manifest_id, "error": str(exc)})
                return Outcome(manifest_id, "SKIPPED", error=str(exc), seconds=time.monotonic() - began)
            except Exception as exc:  # any failure of this attempt: compensate, files retry later
                kind = "transient" if isinstance(exc, PipelineError) and exc.transient else "terminal"
                log.error("manifest failed", extra={"manifest_id": manifest_id, "kind": kind, "error": repr(exc)})
                self.fail_and_compensate(manifest, f"{type(exc).__name__}: {exc}")
                return Outcome(manifest_id, "FAILED", error=str(exc), seconds=time.monotonic() - began)
        return self._outcome(committed, records, result, time.monotonic() - began)

    def fail_and_compensate(self, manifest: Manifest, error: str) -> Manifest:
        """FAILED, its outputs removed, its files released (or FAILED after max attempts)."""
        try:
            manifest = self.store.fail(manifest, self.owner if manifest.lease_owner else None, error)
        except ConditionFailed:
            return self.store.get_manifest(manifest.manifest_id)  # someone else decides its fate now
        return self.compensate(manifest)

    def compensate(self, manifest: Manifest) -> Manifest:
        """Remove a FAILED manifest's outputs, then release its files."""
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
        )


def _stats(result: ConversionResult) -> dict[str, object]:
    return {
        "rows_written": result.rows_written,
        "rows_quarantined": result.rows_quarantined,
        "values_rescued": result.values_rescued,
        "bytes_in": result.bytes_in,
        "bytes_out": sum(o.bytes for o in result.outputs),
        "quarantine": result.quarantine_path,
    }
