"""The lake knows what it holds: commit records written with each commit, checked at start, read back
to rebuild a lost state.

- `record_of`: the commit record of a converted manifest (the executor writes it after the parts are
  published and before the state's SUCCEEDED write, and deletes it first when it compensates).
- `check_lake_known`: before a run converts anything, every manifest the lake's records name must be
  known to the state store (in any state: a record of a manifest still RUNNING or CREATED is a crash
  between record and commit, which recovery re-drives). Otherwise the state was lost or replaced, and
  converting the landing zone again would put every record into the lake a second time.
- `rebuild_from_lake`: restores, from the records alone, each committed manifest with its files, their
  ledgers and the dataset schemas, and the seals of the dates whose clean-seal marker the lake holds;
  a later run over the same landing zone converts nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from ..conversion.engine import ConversionResult
from ..domain import clock
from ..domain.clock import epoch
from ..domain.errors import ConditionFailed, InvalidTransition, StateBehindLake
from ..domain.records import FileRecord, Manifest, manifest_created_at
from ..lake.commit_record import CommitRecord
from ..lake.record_store import CommitRecords, RecordRef
from ..state.base import StateStore
from .schema_sync import store_schema
from .sealing import markers

log = logging.getLogger(__name__)

REBUILD_COMMAND = "ndjson2parquet recover --from-lake"


def record_of(
    manifest: Manifest, files: list[FileRecord], result: ConversionResult, root: str, stats: dict[str, object]
) -> CommitRecord:
    """The commit record of a converted manifest, committed now."""
    return CommitRecord.of(
        manifest,
        files,
        result.ledgers,
        [(o.path, o.rows, o.bytes) for o in result.outputs],
        root=root,
        quarantine=result.quarantine_path,
        schema=result.schema_json,
        stats=stats,
        now=clock.now(),
    )


def stats_of(result: ConversionResult) -> dict[str, object]:
    """A converted manifest's totals, as its commit record and the state store keep them."""
    return {
        "rows_written": result.rows_written,
        "rows_quarantined": result.rows_quarantined,
        "values_rescued": result.values_rescued,
        "bytes_in": result.bytes_in,
        "bytes_out": sum(o.bytes for o in result.outputs),
        "quarantine": result.quarantine_path,
    }


def ref_of(manifest: Manifest) -> RecordRef:
    """Where a manifest's commit record is."""
    return RecordRef(manifest.dataset, manifest.date, manifest.manifest_id)


def _batches(refs: Iterator[RecordRef], size: int) -> Iterator[list[RecordRef]]:
    while batch := list(islice(refs, size)):
        yield batch


def unknown_records(
    records: CommitRecords, store: StateStore, now: float | None = None
) -> tuple[int, RecordRef | None]:
    """(how many records name a manifest the store does not know, the first of them).

    A store whose finished records expire (DynamoDB's TTL) may have forgotten manifests older than its
    retention, as it forgot their files: those records are not asked about.
    """
    refs = records.refs()
    if store.expires_finished:
        horizon = (clock.now() if now is None else now) - store.policy.retention_days * 86400
        refs = (r for r in refs if (made := manifest_created_at(r.manifest_id)) is None or made >= horizon)
    unknown, first = 0, None
    for batch in _batches(refs, store.policy.page_size):
        known = store.known_manifests([r.manifest_id for r in batch])
        missing = [r for r in batch if r.manifest_id not in known]
        unknown += len(missing)
        first = first or (missing[0] if missing else None)
    return unknown, first


def check_lake_known(records: CommitRecords, store: StateStore, lake: str) -> None:
    """Raise StateBehindLake when the lake holds committed manifests the state store does not know."""
    unknown, first = unknown_records(records, store)
    if unknown and first is not None:
        raise StateBehindLake(
            f"the lake {lake} holds {unknown} committed manifest(s) the state store does not know"
            f" (e.g. {first.key}): the state was lost or replaced, and running would convert their files again;"
            f" rebuild it first: {REBUILD_COMMAND} --output {lake} [--state STATE]"
        )


@dataclass
class RebuildReport:
    """What a rebuild from the lake did."""

    records: int = 0
    imported: int = 0  # manifests restored
    known: int = 0  # manifests the state store held already (left as they are)
    files: int = 0  # files of the restored manifests
    schemas: list[str] = field(default_factory=list)  # datasets whose schema was restored or evolved
    sealed: list[str] = field(default_factory=list)  # dataset/date seals restored from the lake's markers

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return dict(vars(self))


def rebuild_from_lake(records: CommitRecords, store: StateStore, root: str) -> RebuildReport:
    """Restore every committed manifest the lake's records name into ``store`` (see `import_committed`).

    Merges idempotently: a manifest the store knows already is left as it is; a file the store holds
    in another way stops the rebuild with ConditionFailed naming it. Safe to run again after a crash.
    """
    report = RebuildReport()
    schemas: dict[str, dict[str, float]] = {}  # dataset -> distinct schema JSON -> first commit time
    for ref in records.refs():
        record = records.read(ref)
        report.records += 1
        manifest, files = record.to_state(root)
        try:
            imported = store.import_committed(manifest, files)
        except ConditionFailed as exc:
            raise ConditionFailed(f"cannot rebuild from {ref.key}: {exc}") from exc
        if imported:
            report.imported += 1
            report.files += len(files)
        else:
            report.known += 1
        if record.schema:
            seen = schemas.setdefault(record.dataset, {})
            at = epoch(record.committed_at)
            seen[record.schema] = min(at, seen.get(record.schema, at))
    for dataset, seen in sorted(schemas.items()):
        # in commit order, merged as the runs merged them: new columns are added, nothing is narrowed
        before = store.get_schema(dataset)
        for schema_json, _ in sorted(seen.items(), key=lambda item: item[1]):
            current = store.get_schema(dataset)
            # widening allowed: a widening the lake holds was opted into by the run that wrote it
            store_schema(store, dataset, schema_json, current[0] if current else 0, widen=True)
        if store.get_schema(dataset) != before:
            report.schemas.append(dataset)
    report.sealed = _restore_seals(store, root)
    log.info("state rebuilt from the lake", extra=report.as_dict())
    return report


def _restore_seals(store: StateStore, root: str) -> list[str]:
    """Seal again, at their own time, the dates whose clean-seal marker the lake holds (so the next run
    neither rewrites the markers nor reports those dates as newly sealed)."""
    restored = []
    for dataset, date, sealed_at in markers(root):
        status = store.date_status(dataset, date)
        if status is None or status.sealed_at is not None:
            continue
        try:
            store.seal(dataset, date, now=sealed_at)
        except InvalidTransition:
            continue  # files of that date wait again (a late file): the next run seals it
        restored.append(f"{dataset}/{date}")
    return restored
