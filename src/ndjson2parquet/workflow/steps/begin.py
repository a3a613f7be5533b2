"""The first two steps: start (CREATED → RUNNING under the document's owner) and convert.

Each is idempotent: run twice, or again after a crash part way, it leaves what one clean run leaves.
Start announces the owner and takes the manifest; started already by this owner, it answers as it
did. Convert writes the parts (a re-run replaces its own, names are deterministic) and then the
run's work object (replaced likewise); it never touches a manifest that is not RUNNING in its run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from ...domain.errors import ConditionFailed, ResourceExhausted, exhaustion
from ...domain.records import FileRecord
from ...domain.states import ManifestState
from ..lake_commits import ref_of, stats_of
from ..lease import Heartbeat
from ..schema_sync import settle_schema
from . import set_aside
from .context import StepContext, log_failure, ours
from .document import Next, Seen, StepDocument
from .work import Conversion

log = logging.getLogger(__name__)


def start(ctx: StepContext, doc: StepDocument) -> StepDocument:
    """Announce the owner, then CREATED → RUNNING under its lease (a new run of the manifest).

    Started already by this owner (a repeated step): the same answer. Anyone else's: SKIPPED.
    ResourceExhausted (the state store is full) is raised: the manifest stays CREATED.
    """
    ctx.store.announce_owner(doc.owner, doc.owner_ttl_s)
    try:
        manifest = ctx.store.start(doc.manifest_id, doc.owner)
    except ConditionFailed:
        manifest = ctx.store.get_manifest(doc.manifest_id)
        repeated = manifest.state == ManifestState.RUNNING and manifest.lease_owner == doc.owner
        if not repeated or doc.run not in (0, manifest.runs):
            return doc.then(Seen.SKIPPED, Next.END)
    log.info("manifest started", extra={"manifest_id": doc.manifest_id, "run": manifest.runs})
    return doc.then(Seen.RUNNING, Next.CONVERT, run=manifest.runs)


@dataclass(frozen=True, slots=True)
class Converted:
    """What the convert step did: its document, and in process the conversion or the error met."""

    doc: StepDocument
    conversion: Conversion | None = None
    error: Exception | None = None
    exhausted: ResourceExhausted | None = None


def convert(ctx: StepContext, doc: StepDocument, records: list[FileRecord] | None = None) -> Converted:
    """Convert the manifest's files, settle the dataset schema, write the run's work object.

    ``records``: its files, when the caller holds them already (else they are read). Next is COMMIT;
    FAIL when the conversion failed, PUT_BACK when resources ran out, END (SKIPPED) when the lease
    was lost or the manifest is not RUNNING in this run (a step repeated after the commit: SUCCEEDED).
    """
    manifest = ctx.store.get_manifest(doc.manifest_id)
    if not ours(manifest, doc):
        if manifest.state == ManifestState.SUCCEEDED:
            return Converted(doc.then(Seen.SUCCEEDED, Next.END, stats=dict(manifest.stats)))
        return Converted(doc.then(Seen.SKIPPED, Next.END))
    interval = ctx.store.policy.lease_s / 3
    with Heartbeat(ctx.store, manifest, doc.owner, interval, doc.owner_ttl_s) as beat:
        try:
            if manifest.runs > 1:  # an earlier run may have left a record naming parts about to change
                ctx.commit_records.delete(ref_of(manifest))
            if records is None or {r.file_id for r in records} != set(manifest.file_ids):
                records = list(ctx.store.files_of(manifest))
            job = ctx.job_for(doc, manifest, records)
            result = ctx.backoff.call(lambda: ctx.engine.convert(job))
            if beat.lost.is_set():
                raise ConditionFailed("lease lost during conversion")
            # the schema is decided per dataset: stored conditionally, converted again if it moved on
            result = settle_schema(
                ctx.store,
                job,
                result,
                lambda again: ctx.backoff.call(lambda: ctx.engine.convert(again)),
                storage=ctx.storage,
            )
            # files rejected for their content: their bytes into the quarantine (a copy that fails fails the step)
            ledgers = set_aside.set_aside(
                ctx.storage, doc.quarantine, job.dataset, job.date, job.manifest_id, records, result.ledgers
            )
            result = replace(result, ledgers=ledgers)
            if beat.lost.is_set():
                raise ConditionFailed("lease lost during conversion")
            conversion = Conversion(manifest.manifest_id, manifest.runs, result, tuple(records))
            url = ctx.work.write(doc.lake, conversion)
        except ConditionFailed as exc:
            # someone else owns the manifest now: never touch its outputs, they may be theirs
            log.warning("manifest taken over", extra={"manifest_id": doc.manifest_id, "error": str(exc)})
            return Converted(doc.then(Seen.SKIPPED, Next.END, error=str(exc)), error=exc)
        except Exception as exc:  # any failure of this attempt: compensate (or put back), files retry later
            exhausted = exhaustion(exc)
            if exhausted is not None and manifest.runs < ctx.store.policy.max_runs:
                return Converted(doc.then(Seen.RUNNING, Next.PUT_BACK, error=str(exhausted)), exhausted=exhausted)
            if exhausted is not None:  # it never fits: fail it, so its files' attempts count and end FAILED
                exc = ResourceExhausted(f"resources ran out in each of {manifest.runs} runs: {exhausted}")
            log_failure(doc.manifest_id, exc)
            return Converted(doc.then(Seen.RUNNING, Next.FAIL, error=f"{type(exc).__name__}: {exc}"), error=exc)
    return Converted(doc.then(Seen.CONVERTED, Next.COMMIT, work=url, stats=stats_of(result)), conversion)
