"""Seals and dead letters of a date: the shared logic behind `StateStore.seal` and `retry_*`.

Functions over a store's primitives (the store's methods delegate here): a seal is one conditional
write on the date's counts, a retry is one conditional move per file, and a date whose files were
put back is open again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..domain.errors import ConditionFailed, InvalidTransition, NotFound
from ..domain.records import DateStatus, FileRecord, SealRecord
from ..domain.states import FileState, ManifestState
from . import rules

if TYPE_CHECKING:
    from .store import StateStore


def seal(store: StateStore, dataset: str, date: str, at: float) -> DateStatus:
    """Seal a date whose files are all final; re-read and try again when its files moved meanwhile."""
    for _ in range(store.backoff.attempts):
        status = store._get_date(dataset, date)
        if status is None:
            raise NotFound(f"no date {dataset}/{date}")
        busy = sum(status.files.get(s.value, 0) for s in rules.BUSY_STATES)
        if busy:
            raise InvalidTransition(f"{dataset}/{date} still has {busy} file(s) pending or claimed")
        record = SealRecord(
            files={s.value: status.files.get(s.value, 0) for s in rules.FINAL_STATES},
            manifest_ids=tuple(
                m.manifest_id for m in store.manifests_of(dataset, date) if m.state == ManifestState.SUCCEEDED
            ),
        )
        try:
            store._seal_date(dataset, date, at, record, {k: v for k, v in status.files.items() if v})
        except ConditionFailed:
            continue  # its files moved between the read and the write: look again
        return store._get_date(dataset, date)  # type: ignore[return-value]
    raise ConditionFailed(f"{dataset}/{date} kept changing while it was being sealed")


def unseal(store: StateStore, dataset: str, date: str) -> None:
    """A date whose files were put back is open again (not a late arrival: the late count stays)."""
    store._open_date(dataset, date, late=False)


def retry_all(store: StateStore, state: FileState, dataset: str, date: str, at: float) -> int:
    """Every FAILED (or REJECTED) file of a date back to PENDING, except superseded versions."""
    moved = 0
    passed: set[str] = set()  # superseded versions, left where they are
    cursor: str | None = None
    while True:  # re-query from the start (moved files leave the listing), past a page of only superseded ones
        page = store._query_waiting(state, dataset, date, store._bounded(store.policy.page_size), cursor)
        if not page.items:
            break
        candidates = [r for r in page.items if r.file_id not in passed]
        passed.update(r.file_id for r in candidates if superseded(store, r))
        changes = [rules.retry_change(r, at) for r in candidates if r.file_id not in passed]
        if not changes:
            if page.cursor is None:
                break  # only superseded versions are left: they stay where they are
            cursor = page.cursor
            continue
        lost = store._update_files(changes)
        moved += len(changes) - len(lost)
        if len(lost) == len(changes):
            break  # every one moved on under us: nothing left to do here
    if moved:
        unseal(store, dataset, date)
    return moved


def retry_files(store: StateStore, records: Iterable[FileRecord], at: float) -> list[FileRecord]:
    """These FAILED or REJECTED files back to PENDING (not superseded versions); those moved."""
    records = list(records)
    changes = [
        rules.retry_change(r, at)
        for r in records
        if r.state in (FileState.FAILED, FileState.REJECTED) and not superseded(store, r)
    ]
    lost = set(store._update_files(changes)) if changes else set()
    moved = [r for r in records if r.file_id in {c.file_id for c in changes} - lost]
    for dataset, date in sorted({(r.dataset, r.date) for r in moved}):
        unseal(store, dataset, date)
    return moved


def superseded(store: StateStore, record: FileRecord) -> bool:
    """True when a newer version of the same object is registered (it carries the object's rows)."""
    return any(
        other.file_id != record.file_id and other.registered_at > record.registered_at
        for other in store._files_by_uri(record.uri)
        if other.dataset == record.dataset
    )
