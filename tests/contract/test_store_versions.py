"""Files that change, as the stores keep them: versions by uri, continuations, superseded and CHANGED files."""

from __future__ import annotations

from dataclasses import replace

from ndjson2parquet.domain.records import Ledger
from ndjson2parquet.domain.states import FileState
from ndjson2parquet.state.base import StateStore
from tests.contract.conftest import DATASET, DATE, records


def test_versions_of_finds_every_version_of_known_uris_and_nothing_for_new_ones(store: StateStore) -> None:
    store.register(records(3))
    store.register(records(1, version="v2", start=2_000.0))
    found = store.versions_of(["s3://in/k000000", "s3://in/k000002", "s3://in/never-seen"])
    assert sorted(found) == ["s3://in/k000000", "s3://in/k000002"]
    assert [r.version for r in found["s3://in/k000000"]] == ["v1", "v2"]
    assert store.versions_of([]) == {}


def test_a_continuation_keeps_where_it_starts_and_its_ledger_the_range_and_digest(store: StateStore) -> None:
    (base,) = records(1)
    continuation = replace(records(1, version="v2", start=2_000.0)[0], start_offset=120, first_line=4)
    store.register([base, continuation])
    manifest = store.claim([continuation], "max_files")
    assert manifest is not None
    manifest = store.start(manifest.manifest_id, "me")
    ledger = Ledger(lines=2, rows_written=2, start_offset=120, end_offset=200, first_line=4, digest="ab" * 32)
    store.succeed(manifest, "me", [], {continuation.file_id: ledger})
    stored = store.get_file(continuation.file_id)
    assert (stored.start_offset, stored.first_line, stored.state) == (120, 4, FileState.DONE)
    assert stored.ledger == ledger
    assert store.get_file(base.file_id).ledger == Ledger()  # an unconverted version has no ledger


def test_a_waiting_version_is_superseded_but_a_claimed_one_is_left_alone(store: StateStore) -> None:
    waiting, claimed = records(2)
    store.register([waiting, claimed])
    assert store.claim([claimed], "max_files") is not None
    done = store.supersede([waiting, store.get_file(claimed.file_id)], "changed since registration")
    assert done == {waiting.file_id}
    stored = store.get_file(waiting.file_id)
    assert stored.state == FileState.REJECTED and stored.ledger.rejection == "changed since registration"
    assert store.get_file(claimed.file_id).state == FileState.CLAIMED
    assert [r.file_id for r in store.rejected(DATASET, DATE, 10).items] == [waiting.file_id]


def test_a_changed_file_is_listed_with_its_reason_and_can_be_accepted_once(store: StateStore) -> None:
    (base,) = records(1)
    changed = replace(
        records(1, version="v2", start=2_000.0)[0],
        state=FileState.CHANGED,
        error="rewritten",
        changed_from=base.file_id,
    )
    result = store.register([base, changed])
    assert result.new == 2
    assert store.counts()["files"]["CHANGED"] == 1
    (listed,) = store.changed(DATASET, DATE, 10).items
    assert (listed.file_id, listed.error, listed.changed_from) == (changed.file_id, "rewritten", base.file_id)
    assert store.accept_changed(listed)
    assert not store.accept_changed(listed)  # no longer CHANGED
    assert store.get_file(changed.file_id).state == FileState.PENDING
    assert store.changed(DATASET, DATE, 10).items == []
    assert {r.file_id for r in store.pending(DATASET, DATE, 10).items} == {base.file_id, changed.file_id}


def test_versions_of_a_uri_listed_as_its_latest_version_includes_that_version(store: StateStore) -> None:
    store.register(records(1))
    (newer,) = records(1, version="v2", start=2_000.0)
    store.register([newer])
    found = store.versions_of(["s3://in/k000000"], {"s3://in/k000000": newer.file_id})
    assert newer.file_id in {r.file_id for r in found["s3://in/k000000"]}
    (older,) = records(1)
    found = store.versions_of(["s3://in/k000000"], {"s3://in/k000000": "some-other-version"})
    assert {r.file_id for r in found["s3://in/k000000"]} == {older.file_id, newer.file_id}
