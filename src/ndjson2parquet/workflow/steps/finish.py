"""The last steps: commit, or fail → compensate, or put back (resources ran out).

- commit: the commit record into the lake, then the state's SUCCEEDED write (the commit point, which
  settles the files), then the work objects removed. Repeated after the commit point, it finishes
  what is left (settling, removing) and answers as the first did.
- fail: RUNNING → FAILED with the document's error, then compensate.
- compensate: the commit record, the parts and the quarantine (set-aside files too) removed, the files released
  (attempts + 1), COMPENSATED; then the work objects removed.
- put_back: the record and outputs removed, RUNNING → CREATED (no attempt spent), work objects removed.

No step touches a manifest another owner's run holds (SKIPPED): its outputs may be theirs.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace

from ...domain.errors import ConditionFailed, ResourceExhausted, exhaustion
from ...domain.records import Manifest
from ...domain.states import ManifestState
from ..lake_commits import record_of, ref_of, stats_of
from ..lease import Heartbeat
from . import set_aside
from .context import StepContext, log_failure, ours
from .document import Next, Seen, StepDocument
from .work import Conversion, work_url

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Committed:
    """What the commit step did: its document, the committed manifest, or the error met."""

    doc: StepDocument
    manifest: Manifest | None = None
    error: Exception | None = None
    exhausted: ResourceExhausted | None = None
    # the earliest arrival (mtime / LastModified) of the files committed now: their end-to-end
    # latency (review Q19); None for a repeated step, which committed nothing new
    first_arrival: float | None = None


def commit(ctx: StepContext, doc: StepDocument, conversion: Conversion | None = None) -> Committed:
    """Commit the converted run: record, SUCCEEDED (settling its files), work objects removed.

    ``conversion``: the convert step's, when the caller holds it (else read from the work object).
    Next is END (SUCCEEDED, or SKIPPED when the run is not ours any more); FAIL or PUT_BACK when
    writing the record or the commit failed.
    """
    manifest = ctx.store.get_manifest(doc.manifest_id)
    if manifest.state == ManifestState.SUCCEEDED:
        return _committed(ctx, doc, manifest)  # a repeated step: finish what may be left
    if not ours(manifest, doc):
        return Committed(doc.then(Seen.SKIPPED, Next.END))
    with Heartbeat(ctx.store, manifest, doc.owner, ctx.store.policy.lease_s / 3, doc.owner_ttl_s):
        try:
            if conversion is None:
                url = doc.work or work_url(doc.lake, doc.manifest_id, doc.run)
                conversion = ctx.work.read(url, doc.manifest_id, doc.run)
            records = list(conversion.records or ctx.store.files_of(manifest))
            result = conversion.result
            stats = stats_of(result)
            ctx.commit_records.write(record_of(manifest, records, result, doc.lake, stats))
            manifest = ctx.store.succeed(
                manifest, doc.owner, [o.path for o in result.outputs], result.ledgers, stats=stats
            )
        except ConditionFailed as exc:
            current = ctx.store.get_manifest(doc.manifest_id)
            if current.state == ManifestState.SUCCEEDED and current.runs == doc.run:
                return _committed(ctx, doc, current)
            log.warning("manifest taken over", extra={"manifest_id": doc.manifest_id, "error": str(exc)})
            return Committed(doc.then(Seen.SKIPPED, Next.END, error=str(exc)), error=exc)
        except Exception as exc:
            exhausted = exhaustion(exc)
            if exhausted is not None:
                return Committed(doc.then(Seen.RUNNING, Next.PUT_BACK, error=str(exhausted)), exhausted=exhausted)
            log_failure(doc.manifest_id, exc)
            return Committed(doc.then(Seen.RUNNING, Next.FAIL, error=f"{type(exc).__name__}: {exc}"), error=exc)
    committed = _committed(ctx, doc, manifest)
    return replace(committed, first_arrival=min((r.arrived_at for r in records), default=None))


def _committed(ctx: StepContext, doc: StepDocument, manifest: Manifest) -> Committed:
    """After the commit point: files settled, work objects removed; the document says SUCCEEDED."""
    if not manifest.settled:
        manifest = ctx.store.settle(manifest)
    ctx.work.delete_all(doc.lake, manifest.manifest_id)
    _tell_committed(ctx, manifest)
    return Committed(doc.then(Seen.SUCCEEDED, Next.END, stats=dict(manifest.stats), error=None), manifest)


def _tell_committed(ctx: StepContext, manifest: Manifest) -> None:
    """The ``on_committed`` hook, if any: past the commit point, so its failure is logged, never raised
    (the next commit, or this one repeated, does its work again)."""
    if ctx.on_committed is None:
        return
    try:
        ctx.on_committed(manifest)
    except Exception as exc:  # nothing after the commit point may undo or fail it
        log.warning("after-commit hook failed", extra={"manifest_id": manifest.manifest_id, "error": str(exc)})


def fail(ctx: StepContext, doc: StepDocument) -> StepDocument:
    """RUNNING (in this run) → FAILED with the document's error, then compensate.

    Already FAILED (a repeated step, or recovery's turn): compensated. Anyone else's: SKIPPED.
    """
    manifest = ctx.store.get_manifest(doc.manifest_id)
    if ours(manifest, doc):
        with contextlib.suppress(ConditionFailed):  # someone else decides its fate now: looked at below
            ctx.store.fail(manifest, doc.owner, doc.error or "failed")
        manifest = ctx.store.get_manifest(doc.manifest_id)
    if manifest.state in (ManifestState.FAILED, ManifestState.COMPENSATED) and manifest.runs == doc.run:
        return compensate(ctx, doc)
    return doc.then(Seen.SKIPPED, Next.END)


def compensate(ctx: StepContext, doc: StepDocument) -> StepDocument:
    """Saga compensation of a FAILED manifest: commit record, then outputs removed, files released.

    The record goes first: no record ever names a part that is not there.
    """
    manifest = ctx.store.get_manifest(doc.manifest_id)
    if manifest.state == ManifestState.FAILED:
        ctx.commit_records.delete(ref_of(manifest))
        ctx.engine.remove_outputs(ctx.job_for(doc, manifest))
        set_aside.remove(ctx.storage, doc.quarantine, manifest.dataset, manifest.date, manifest.manifest_id)
        try:
            manifest = ctx.store.compensate(manifest)
        except ConditionFailed:
            manifest = ctx.store.get_manifest(doc.manifest_id)  # another compensation finished first
    if manifest.state != ManifestState.COMPENSATED:
        return doc.then(Seen.SKIPPED, Next.END)
    ctx.work.delete_all(doc.lake, manifest.manifest_id)
    return doc.then(Seen.COMPENSATED, Next.END, error=manifest.error)


def put_back(ctx: StepContext, doc: StepDocument) -> StepDocument:
    """Resources ran out: remove what this run wrote and requeue the manifest (RUNNING → CREATED,
    its files still CLAIMED in it, no attempt spent). Repeated after the requeue: the same answer."""
    manifest = ctx.store.get_manifest(doc.manifest_id)
    if ours(manifest, doc):
        ctx.commit_records.delete(ref_of(manifest))  # as compensation does: no record names a removed part
        ctx.engine.remove_outputs(ctx.job_for(doc, manifest))
        set_aside.remove(ctx.storage, doc.quarantine, manifest.dataset, manifest.date, manifest.manifest_id)
        try:
            manifest = ctx.store.requeue(manifest)
        except ConditionFailed:
            return doc.then(Seen.SKIPPED, Next.END)  # someone else holds it now
    elif not (manifest.state == ManifestState.CREATED and manifest.runs == doc.run):
        return doc.then(Seen.SKIPPED, Next.END)
    ctx.work.delete_all(doc.lake, manifest.manifest_id)
    return doc.then(Seen.REQUEUED, Next.END)
