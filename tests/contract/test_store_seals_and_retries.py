"""Seal records (clean or with problems) and putting REJECTED files back, on both stores."""

from __future__ import annotations

from ndjson2parquet.domain.records import Ledger
from ndjson2parquet.domain.states import FileState
from ndjson2parquet.state.base import StateStore
from tests.contract.conftest import DATASET, DATE
from tests.contract.test_store_lifecycle import NOW, claimed, ledgers


def _commit(store: StateStore, rejected: str | None = None, **kw: object) -> str:
    manifest = claimed(store, **kw)  # type: ignore[arg-type]
    running = store.start(manifest.manifest_id, "w", now=NOW)
    store.succeed(running, "w", ["o"], ledgers(running, rejected), now=NOW)
    return manifest.manifest_id


def test_a_clean_seal_records_the_counts_and_the_committed_manifests(store: StateStore) -> None:
    first = _commit(store)
    second = _commit(store, prefix="b")
    status = store.seal(DATASET, DATE, now=NOW + 1)
    assert status.seal is not None and status.seal.clean
    assert status.seal.files == {"DONE": 6, "REJECTED": 0, "FAILED": 0}
    assert sorted(status.seal.manifest_ids) == sorted([first, second])
    assert store.date_status(DATASET, DATE).seal == status.seal  # type: ignore[union-attr]


def test_a_date_with_a_rejected_file_is_sealed_with_problems_and_a_late_file_clears_the_record(
    store: StateStore,
) -> None:
    _commit(store, rejected="corrupt gzip")
    status = store.seal(DATASET, DATE, now=NOW + 1)
    assert status.seal is not None and not status.seal.clean
    assert status.seal.files == {"DONE": 2, "REJECTED": 1, "FAILED": 0}
    from tests.contract.conftest import records

    store.register(records(1, prefix="late", start=9_000.0))
    reopened = store.date_status(DATASET, DATE)
    assert reopened is not None and reopened.sealed_at is None and reopened.seal is None


def test_retry_rejected_puts_rejected_files_back_pending_with_a_fresh_ledger_and_reopens_the_date(
    store: StateStore,
) -> None:
    _commit(store, rejected="corrupt gzip")
    store.seal(DATASET, DATE, now=NOW + 1)
    (rejected,) = store.rejected(DATASET, DATE, 10).items
    assert store.retry_rejected(DATASET, DATE, now=NOW + 2) == 1
    back = store.get_file(rejected.file_id)
    assert (back.state, back.manifest_id, back.attempts, back.ledger) == (FileState.PENDING, None, 0, Ledger())
    assert back.error == "rejected before: corrupt gzip"
    assert [r.file_id for r in store.pending(DATASET, DATE, 10).items] == [rejected.file_id]
    assert store.rejected(DATASET, DATE, 10).items == []
    status = store.date_status(DATASET, DATE)
    assert status is not None and status.sealed_at is None and status.late_files == 0
    assert status.files == {"DONE": 2, "PENDING": 1}
    assert store.retry_rejected(DATASET, DATE, now=NOW + 3) == 0  # nothing rejected any more


def test_a_retried_rejected_file_converts_again_and_its_ledger_is_replaced(store: StateStore) -> None:
    _commit(store, rejected="corrupt gzip")
    (rejected,) = store.rejected(DATASET, DATE, 10).items
    store.retry_rejected(DATASET, DATE, now=NOW + 2)
    again = store.claim(store.pending(DATASET, DATE, 10).items, "retry", now=NOW + 3)
    assert again is not None
    running = store.start(again.manifest_id, "w", now=NOW + 3)
    fixed = Ledger(5, 0, 5, 0, ("out/part-1.parquet",))
    store.succeed(running, "w", ["out/part-1.parquet"], {rejected.file_id: fixed}, now=NOW + 4)
    done = store.get_file(rejected.file_id)
    assert (done.state, done.ledger, done.manifest_id) == (FileState.DONE, fixed, again.manifest_id)
    assert store.date_status(DATASET, DATE).files == {"DONE": 3}  # type: ignore[union-attr]


def test_retry_files_moves_only_failed_or_rejected_files(store: StateStore) -> None:
    _commit(store, rejected="unreadable")
    (rejected,) = store.rejected(DATASET, DATE, 10).items
    done = next(r for r in store.files_by_uri(rejected.uri.replace("000000", "000001")))
    moved = store.retry_files([rejected, done], now=NOW + 2)
    assert [r.file_id for r in moved] == [rejected.file_id]
    assert store.get_file(done.file_id).state == FileState.DONE
    assert store.get_file(rejected.file_id).state == FileState.PENDING


def test_a_rejected_version_superseded_by_a_newer_one_is_not_retried(store: StateStore) -> None:
    from tests.contract.conftest import records

    _commit(store, n=1, rejected="corrupt gzip")
    (old,) = store.rejected(DATASET, DATE, 10).items
    store.register(records(1, version="v2", start=5_000.0))  # the fixed object: a new version, same uri
    assert store.retry_rejected(DATASET, DATE, now=NOW + 2) == 0
    assert store.retry_files([old], now=NOW + 2) == []
    assert store.get_file(old.file_id).state == FileState.REJECTED
