"""What every step needs besides its document: the state store, the engine, the storage, the lake's
commit records. A Lambda handler, a Glue job or the embedded executor builds one and passes it in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ...backoff import Backoff
from ...conversion.engine import ConversionJob, Engine, InputFile
from ...domain.errors import PipelineError
from ...domain.records import FileRecord, Manifest
from ...domain.states import ManifestState
from ...lake.record_store import CommitRecords
from ...state.base import StateStore
from ...storage.base import Storage
from .document import StepDocument
from .work import WorkObjects

log = logging.getLogger(__name__)


@dataclass
class StepContext:
    """The services the steps run against (injected: nothing here reads the environment)."""

    store: StateStore
    engine: Engine
    storage: Storage  # for the work objects
    commit_records: CommitRecords
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, cap=30.0, attempts=4))
    #: told (manifest id, files, bytes) as the engine reads the inputs: progress within a manifest
    on_file_read: Callable[[str, int, int], None] | None = None
    #: told each manifest found SUCCEEDED by a commit step, after the commit point (also on a repeat):
    #: the AWS deployment keeps its table catalog in step; unset in the embedded pipeline
    on_committed: Callable[[Manifest], None] | None = None

    @property
    def work(self) -> WorkObjects:
        """The lake's work objects."""
        return WorkObjects(self.storage)

    def job_for(self, doc: StepDocument, manifest: Manifest, records: list[FileRecord] | None = None) -> ConversionJob:
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
            output_root=doc.lake,
            quarantine_root=doc.quarantine,
            options=doc.conversion_options,
            schema_json=stored[1] if stored else None,
            schema_version=stored[0] if stored else 0,
            on_file_read=None if report is None else lambda files, size: report(manifest_id, files, size),
        )


def ours(manifest: Manifest, doc: StepDocument) -> bool:
    """True while the manifest is RUNNING in the run this document's owner started."""
    return manifest.state == ManifestState.RUNNING and manifest.lease_owner == doc.owner and manifest.runs == doc.run


def log_failure(manifest_id: str, exc: Exception) -> None:
    """One ERROR line saying what failed (type, message, the file when known); the traceback at DEBUG."""
    kind = "transient" if isinstance(exc, PipelineError) and exc.transient else "terminal"
    extra = {"manifest_id": manifest_id, "kind": kind, "error_type": type(exc).__name__, "error": str(exc)}
    uri = getattr(exc, "uri", None)
    if uri:
        extra["uri"] = uri
    log.error("manifest failed", extra=extra)
    log.debug("manifest failed: traceback", extra={"manifest_id": manifest_id}, exc_info=exc)
