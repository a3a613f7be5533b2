"""What each named transition changes: the one place each rule of the state machines is written.

`StateStore` asks these for typed change records and hands them to a backend's primitives, which
map them onto rows or items without deciding anything.
"""

from __future__ import annotations

from dataclasses import replace

from ..domain.records import FileRecord, Ledger, Manifest
from ..domain.states import FileState, ManifestState, file_transition
from .changes import KEEP, FileChange, ManifestChange

#: files a date may still hold when it is sealed; the others keep it open
FINAL_STATES = (FileState.DONE, FileState.REJECTED, FileState.FAILED)
BUSY_STATES = (FileState.PENDING, FileState.CLAIMED)


def finished_state(ledger: Ledger) -> FileState:
    """A converted file ends REJECTED when its ledger holds a rejection, else DONE."""
    return _REJECTED if ledger.rejection else _DONE


_DONE, _REJECTED = file_transition("complete")[1], file_transition("reject")[1]  # asked per file of a commit


def settle_change(
    file_id: str, manifest_id: str, ledger: Ledger, at: float, expires_at: int, *, store_ledger: bool = False
) -> FileChange:
    """CLAIMED → DONE or REJECTED in its SUCCEEDED manifest (the ledger is what the commit stored;
    ``store_ledger``: this change stores it too, as a commit in one transaction does)."""
    return FileChange(
        file_id,
        FileState.CLAIMED,
        manifest_id,
        state=finished_state(ledger),
        ledger=ledger if store_ledger else KEEP,
        updated_at=at,
        expires_at=expires_at,
    )


def ledger_change(file_id: str, manifest_id: str, ledger: Ledger) -> FileChange:
    """A CLAIMED file's ledger, written before its manifest's commit point (state unchanged)."""
    return FileChange(file_id, FileState.CLAIMED, manifest_id, ledger=ledger)


def release_change(record: FileRecord, manifest: Manifest, at: float, max_attempts: int) -> FileChange:
    """Compensation: CLAIMED → PENDING with one more attempt, or FAILED once attempts run out."""
    attempts = record.attempts + 1
    name = "give_up" if attempts >= max_attempts else "release"
    return FileChange(
        record.file_id,
        FileState.CLAIMED,
        manifest.manifest_id,
        state=file_transition(name)[1],
        manifest_id=None,
        attempts=attempts,
        ledger=Ledger(),
        error=manifest.error,
        updated_at=at,
    )


def supersede_change(record: FileRecord, reason: str, at: float, expires_at: int) -> FileChange:
    """A version replaced by a newer one → REJECTED with the reason in its ledger."""
    return FileChange(
        record.file_id,
        record.state,
        None,
        state=file_transition("supersede")[1],
        ledger=Ledger(rejection=reason),
        updated_at=at,
        expires_at=expires_at,
    )


def accept_change(record: FileRecord, at: float) -> FileChange:
    """CHANGED → PENDING: converted knowingly as a new version."""
    return FileChange(
        record.file_id, FileState.CHANGED, None, state=file_transition("accept")[1], error=None, updated_at=at
    )


def retry_change(record: FileRecord, at: float) -> FileChange:
    """FAILED → PENDING (`retry`) or REJECTED → PENDING (`retry_rejected`), attempts reset, never expiring.

    A rejected file wrote no row: its ledger is reset and its old reason kept in `error`.
    """
    if record.state == FileState.REJECTED:
        return FileChange(
            record.file_id,
            record.state,
            record.manifest_id,
            state=file_transition("retry_rejected")[1],
            manifest_id=None,
            ledger=Ledger(),
            error=f"rejected before: {record.ledger.rejection}",
            attempts=0,
            updated_at=at,
            expires_at=None,
        )
    return FileChange(
        record.file_id,
        record.state,
        record.manifest_id,
        state=file_transition("retry")[1],
        error=None,
        attempts=0,
        updated_at=at,
        expires_at=None,
    )


def import_change(record: FileRecord, manifest_id: str) -> FileChange:
    """A PENDING file the lake says a committed manifest holds → its final state, ledger and manifest."""
    return FileChange(
        record.file_id,
        FileState.PENDING,
        None,
        state=record.state,
        manifest_id=manifest_id,
        ledger=record.ledger,
        attempts=record.attempts,
        updated_at=record.updated_at,
    )


def release_claim_change(file_id: str, manifest_id: str) -> FileChange:
    """An abandoned claim lets its file go: CLAIMED → PENDING, in no manifest."""
    return FileChange(file_id, FileState.CLAIMED, manifest_id, state=FileState.PENDING, manifest_id=None)


def committed(state: ManifestState, outputs: tuple[str, ...], stats: dict[str, object], at: float) -> ManifestChange:
    """The commit point: SUCCEEDED with its outputs and stats, the lease dropped."""
    return ManifestChange(
        state=state, lease_owner=None, lease_expires_at=None, updated_at=at, outputs=outputs, stats=stats
    )


def merge(first: ManifestChange, then: ManifestChange) -> ManifestChange:
    """Two manifest changes as one write (`then`'s fields win)."""
    return replace(first, **then.values())


def settled(at: float, expires_at: int) -> ManifestChange:
    """A manifest whose files are all final: off the live listing, expiring with them."""
    return ManifestChange(settled=True, updated_at=at, expires_at=expires_at)


def waiting_for_import(record: FileRecord | None) -> bool:
    """A file an import must move to its final state: PENDING outside any manifest, or unknown when
    looked up (so registered since, PENDING; the move's condition says if it is not)."""
    return record is None or (record.state == FileState.PENDING and record.manifest_id is None)
