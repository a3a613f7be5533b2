"""Registration, listings and claims: the same behaviour from both stores."""

from __future__ import annotations

import pytest

from ndjson2parquet.domain.errors import InvalidTransition, NotFound
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.state.base import StateStore
from tests.contract.conftest import DATASET, DATE, records


def test_registering_the_same_version_twice_is_a_no_op(store: StateStore) -> None:
    first = store.register(records(3))
    again = store.register(records(3))
    assert (first.new, first.seen) == (3, 0)
    assert (again.new, again.seen) == (0, 3)
    assert store.counts()["files"]["PENDING"] == 3


def test_a_new_version_of_the_same_uri_is_a_new_record(store: StateStore) -> None:
    store.register(records(1, version="v1"))
    result = store.register(records(1, version="v2", start=2_000.0))
    assert result.new == 1
    versions = store.files_by_uri("s3://in/k000000")
    assert [r.version for r in versions] == ["v1", "v2"]
    assert store.get_file(versions[1].file_id).version == "v2"


def test_a_batch_of_known_and_new_files_registers_only_the_new_ones(store: StateStore) -> None:
    batch = records(10)
    assert store.register(batch[:5]).new == 5
    mixed = store.register(batch)
    assert (mixed.new, mixed.seen) == (5, 5)
    fresh = store.register(records(5, prefix="later"))
    assert (fresh.new, fresh.seen) == (5, 0)
    assert store.counts()["files"]["PENDING"] == 15
    assert store.date_status(DATASET, DATE).files == {"PENDING": 15}  # type: ignore[union-attr]


def test_duplicates_inside_one_registration_count_once(store: StateStore) -> None:
    batch = records(2)
    result = store.register([batch[0], batch[1], batch[0]])
    assert (result.new, result.seen) == (2, 1)


def test_re_registering_10000_files_reports_none_new(store: StateStore) -> None:
    batch = records(10_000)
    assert store.register(batch).new == 10_000
    again = store.register(batch)
    assert (again.new, again.seen) == (0, 10_000)
    assert store.date_status(DATASET, DATE).files == {"PENDING": 10_000}  # type: ignore[union-attr]


def test_get_file_of_an_unknown_id_raises_not_found(store: StateStore) -> None:
    with pytest.raises(NotFound):
        store.get_file("nope")


def test_pending_listing_is_bounded_paginated_and_oldest_first(store_factory) -> None:  # type: ignore[no-untyped-def]
    store = store_factory(page_size=40)
    batch = records(95)
    store.register(reversed(batch))  # registration order must not matter: registered_at decides
    seen, cursor, pages = [], None, 0
    while True:
        page = store.pending(DATASET, DATE, limit=1_000, cursor=cursor)  # capped at page_size
        assert len(page.items) <= 40
        seen += [r.file_id for r in page.items]
        pages += 1
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen == [r.file_id for r in batch]
    assert pages == 3
    assert store.pending(DATASET, "2026-01-01", 10).items == []


def test_claim_moves_files_to_claimed_and_off_the_pending_list(store: StateStore) -> None:
    store.register(records(10))
    page = store.pending(DATASET, DATE, 4)
    manifest = store.claim(page.items, "max_files")
    assert manifest is not None and manifest.state == ManifestState.CREATED
    assert manifest.file_ids == tuple(r.file_id for r in page.items)
    assert all(r.state == FileState.CLAIMED and r.manifest_id == manifest.manifest_id for r in store.files_of(manifest))
    assert len(store.pending(DATASET, DATE, 100).items) == 6
    assert store.get_manifest(manifest.manifest_id) == manifest


def test_claim_is_all_or_none(store: StateStore) -> None:
    store.register(records(6))
    files = store.pending(DATASET, DATE, 6).items
    assert store.claim(files[:2], "first") is not None
    assert store.claim(files[1:], "second") is None  # files[1] is taken: nothing of files[2:] is claimed
    assert [r.file_id for r in store.pending(DATASET, DATE, 10).items] == [r.file_id for r in files[2:]]
    counts = store.counts()
    assert counts["files"]["CLAIMED"] == 2 and counts["manifests"]["CREATED"] == 1


def test_claim_rejects_mixed_dates_and_repeated_files(store: StateStore) -> None:
    a, b = records(1)[0], records(1, date="2026-11-26", prefix="x")[0]
    store.register([a, b])
    with pytest.raises(InvalidTransition):
        store.claim([a, b], "mixed")
    with pytest.raises(InvalidTransition):
        store.claim([a, a], "twice")


@pytest.mark.parametrize("n", [97, 98, 250])
def test_claims_of_any_size_succeed_all_or_none(store: StateStore, n: int) -> None:
    store.register(records(n))
    files = store.pending(DATASET, DATE, 1_000).items
    manifest = store.claim(files, "big")
    assert manifest is not None
    stored = store.get_manifest(manifest.manifest_id)
    assert stored.state == ManifestState.CREATED and len(stored.file_ids) == n
    assert store.counts()["files"]["CLAIMED"] == n
    assert store.counts()["manifests"] == {**store.counts()["manifests"], "CREATED": 1, "CLAIMING": 0}
    # a second big claim overlapping by one file claims nothing and leaves nothing behind
    store.register(records(n, prefix="y", start=5_000.0))
    more = store.pending(DATASET, DATE, 1_000).items
    assert store.claim([files[-1], *more], "overlap") is None
    assert len(store.pending(DATASET, DATE, 1_000).items) == n
    assert store.counts()["manifests"]["CLAIMING"] == 0
    assert [m.manifest_id for m in store.live_manifests()] == [manifest.manifest_id]


def test_pending_listing_excludes_other_dates_and_datasets(store: StateStore) -> None:
    store.register(records(3) + records(2, date="2026-11-26", prefix="d") + records(2, dataset="other", prefix="o"))
    assert len(store.pending(DATASET, DATE, 10).items) == 3
    assert len(store.pending(DATASET, "2026-11-26", 10).items) == 2
    assert len(store.pending("other", DATE, 10).items) == 2


def test_dates_lists_every_dataset_and_date_with_counts(store_factory) -> None:  # type: ignore[no-untyped-def]
    store = store_factory(page_size=2)
    store.register(records(3) + records(2, date="2026-11-26", prefix="d") + records(1, dataset="a", prefix="o"))
    all_dates = [(d.dataset, d.date, d.files) for d in store.dates()]
    assert all_dates == [
        ("a", DATE, {"PENDING": 1}),
        (DATASET, DATE, {"PENDING": 3}),
        (DATASET, "2026-11-26", {"PENDING": 2}),
    ]
    assert [d.date for d in store.dates(DATASET)] == [DATE, "2026-11-26"]
    assert store.date_status("a", "1999-01-01") is None


def test_keys_and_names_that_read_like_expressions_are_only_ever_values(store: StateStore) -> None:
    """Review LAMBDA-SEC-003: a key, dataset or version is passed as a value (ExpressionAttributeValues
    on DynamoDB, bound parameters on SQLite), never spliced into an expression."""
    hostile = "#status = :pending OR attribute_not_exists(pk) ' OR 1=1; --"
    [record] = records(1, dataset=f"ds {hostile}", prefix=f"{hostile}/", version=f"v :v #n {hostile}")
    assert store.register([record]).new == 1
    assert store.register([record]).new == 0  # the conditional put still holds
    [found] = store.files_by_uri(record.uri)
    assert (found.uri, found.dataset, found.version, found.state) == (
        record.uri,
        record.dataset,
        record.version,
        FileState.PENDING,
    )
    manifest = store.claim(list(store.pending(record.dataset, DATE, 10).items), reason="max_files")
    assert manifest is not None and store.get_file(record.file_id).state == FileState.CLAIMED
    assert [s.dataset for s in store.dates()] == [record.dataset]
