"""What the lake says it holds: the shared logic behind `known_manifests` and `import_committed`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..domain.errors import ConditionFailed, InvalidTransition
from ..domain.records import FileRecord, Manifest
from ..domain.states import FileState, ManifestState
from . import rules

if TYPE_CHECKING:
    from .store import StateStore


def known_manifests(store: StateStore, manifest_ids: Sequence[str]) -> set[str]:
    """Which of these manifest ids the store holds, in any state (batched lookups, no scan)."""
    known: set[str] = set()
    for start in range(0, len(manifest_ids), store.policy.page_size):
        known |= store._known_manifests(manifest_ids[start : start + store.policy.page_size])
    return known


def import_committed(store: StateStore, manifest: Manifest, files: Sequence[FileRecord]) -> bool:
    """Restore a committed manifest and its finished files; False when the store knows it already.

    Files go first (absent ones inserted, PENDING ones moved to their final state), the manifest
    last, so its presence means "imported". A file the store holds in any other way (another
    manifest, CLAIMED, FAILED) is a conflict: ConditionFailed, and nothing of this manifest is written.
    """
    if manifest.state != ManifestState.SUCCEEDED or not manifest.settled:
        raise InvalidTransition(f"only a settled SUCCEEDED manifest can be imported, not {manifest.state}")
    mid = manifest.manifest_id
    if {f.file_id for f in files} != set(manifest.file_ids) or len(files) != len(manifest.file_ids):
        raise InvalidTransition(f"the files given are not the files of manifest {mid}")
    for f in files:
        if f.manifest_id != mid or f.state != rules.finished_state(f.ledger) or f.dataset != manifest.dataset:
            raise InvalidTransition(f"file {f.file_id} is not a finished file of manifest {mid}")
    if store._get_manifest(mid) is not None:
        return False
    existing = {r.file_id: r for r in store._get_files([f.file_id for f in files])}
    conflicts = [
        r
        for r in existing.values()
        if not (r.state == FileState.PENDING and r.manifest_id is None)
        and not (r.manifest_id == mid and r.state in (FileState.DONE, FileState.REJECTED))
    ]
    if conflicts:
        first = conflicts[0]
        raise ConditionFailed(
            f"{len(conflicts)} file(s) of manifest {mid} are held otherwise by the state store"
            f" (e.g. {first.uri} is {first.state} in manifest {first.manifest_id})"
        )
    absent = [f for f in files if f.file_id not in existing]
    added: set[str] = set()  # an absent file registered meanwhile is PENDING now: moved below
    for start in range(0, len(absent), store.write_chunk):
        added.update(r.file_id for r in store._import_files(absent[start : start + store.write_chunk]))
    store._apply(
        [
            rules.import_change(f, mid)
            for f in files
            if f.file_id not in added and rules.waiting_for_import(existing.get(f.file_id))
        ]
    )
    try:
        store._put_manifest(manifest)
    except ConditionFailed:
        return False  # another import of the same record won
    return True
