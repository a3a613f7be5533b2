"""Manifest and file state machines, dead letters, seals, schemas and TTLs on both stores."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from ndjson2parquet.domain.errors import ConditionFailed, InvalidTransition
from ndjson2parquet.domain.records import Ledger, Manifest
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.state.base import FileChange, StateStore
from ndjson2parquet.state.dynamodb import DynamoDbStore
from ndjson2parquet.state.sqlite import SqliteStore
from tests.contract.conftest import DATASET, DATE, records

NOW = 1_800_000_000.0


def claimed(store: StateStore, n: int = 3, **kw: Any) -> Manifest:
    store.register(records(n, **kw))
    manifest = store.claim(store.pending(kw.get("dataset", DATASET), kw.get("date", DATE), n).items, "test", now=NOW)
    assert manifest is not None
    return manifest


def ledgers(manifest: Manifest, rejected: str | None = None) -> dict[str, Ledger]:
    return {
        fid: Ledger(3, 1, 2, 0, ("out/part-0.parquet",), rejected if i == 0 else None)
        for i, fid in enumerate(manifest.file_ids)
    }


def raw(store: StateStore, kind: str, key: str) -> dict[str, Any]:
    """The stored row / item itself, bypassing the store's mapping."""
    if isinstance(store, SqliteStore):
        db = sqlite3.connect(store.path)
        db.row_factory = sqlite3.Row
        table, column = ("files", "file_id") if kind == "file" else ("manifests", "manifest_id")
        row = db.execute(f"SELECT * FROM {table} WHERE {column} = ?", (key,)).fetchone()
        db.close()
        return dict(row)
    assert isinstance(store, DynamoDbStore)
    pk, sk = (f"F#{key}", "F") if kind == "file" else (f"M#{key}", "M")
    item = store.client.get_item(TableName=store.table, Key={"pk": {"S": pk}, "sk": {"S": sk}})["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def test_start_runs_once_and_a_second_start_loses(store: StateStore) -> None:
    manifest = claimed(store)
    running = store.start(manifest.manifest_id, "w1", now=NOW)
    assert (running.state, running.lease_owner, running.runs) == (ManifestState.RUNNING, "w1", 1)
    assert running.lease_expires_at == NOW + store.policy.lease_s
    with pytest.raises(ConditionFailed):
        store.start(manifest.manifest_id, "w2", now=NOW)
    assert store.get_manifest(manifest.manifest_id).lease_owner == "w1"


def test_renew_and_succeed_need_the_lease_owner(store: StateStore) -> None:
    manifest = store.start(claimed(store).manifest_id, "w1", now=NOW)
    assert store.renew(manifest, "w1", now=NOW + 10).lease_expires_at == NOW + 10 + store.policy.lease_s
    with pytest.raises(ConditionFailed):
        store.renew(manifest, "intruder", now=NOW + 20)
    with pytest.raises(ConditionFailed):
        store.succeed(manifest, "intruder", ["o"], ledgers(manifest), now=NOW + 30)
    assert store.get_manifest(manifest.manifest_id).state == ManifestState.RUNNING


def test_succeed_settles_files_done_with_their_ledgers(store: StateStore) -> None:
    manifest = store.start(claimed(store).manifest_id, "w1", now=NOW)
    done = store.succeed(
        manifest,
        "w1",
        ["out/part-0.parquet"],
        ledgers(manifest, rejected="corrupt gzip"),
        stats={"rows": 6, "nested": {"a": [1, 2]}},
        now=NOW + 5,
    )
    assert (done.state, done.settled, done.lease_owner) == (ManifestState.SUCCEEDED, True, None)
    assert done.outputs == ("out/part-0.parquet",) and done.stats == {"rows": 6, "nested": {"a": [1, 2]}}
    assert store.get_manifest(manifest.manifest_id) == done
    files = {r.file_id: r for r in store.files_of(done)}
    first, *rest = manifest.file_ids
    assert files[first].state == FileState.REJECTED and files[first].ledger.rejection == "corrupt gzip"
    assert all(
        files[f].state == FileState.DONE and files[f].ledger == Ledger(3, 1, 2, 0, ("out/part-0.parquet",))
        for f in rest
    )
    assert list(store.live_manifests()) == []
    assert [(r.file_id, r.ledger.rejection) for r in store.rejected(DATASET, DATE, 10).items] == [
        (first, "corrupt gzip")
    ]
    counts = store.counts()
    assert counts["files"]["DONE"] == 2 and counts["files"]["REJECTED"] == 1 and counts["files"]["CLAIMED"] == 0
    assert counts["manifests"]["SUCCEEDED"] == 1 and counts["manifests"]["CREATED"] == 0


def test_settle_is_idempotent(store: StateStore) -> None:
    manifest = store.start(claimed(store).manifest_id, "w1", now=NOW)
    done = store.succeed(manifest, "w1", ["o"], ledgers(manifest), now=NOW)
    assert store.settle(done, now=NOW + 1) == done
    assert store.settle(store.get_manifest(done.manifest_id), now=NOW + 2).settled
    assert store.counts()["files"]["DONE"] == 3
    with pytest.raises(InvalidTransition):
        store.settle(claimed(store, prefix="z"))


def test_succeed_commits_nothing_when_a_file_is_no_longer_claimed_by_the_manifest(store: StateStore) -> None:
    manifest = store.start(claimed(store).manifest_id, "w1", now=NOW)
    taken = manifest.file_ids[1]
    release = FileChange(taken, FileState.CLAIMED, manifest.manifest_id, FileState.PENDING, manifest_id=None)
    assert store._update_files([release]) == []
    with pytest.raises(ConditionFailed):
        store.succeed(manifest, "w1", ["o"], ledgers(manifest), now=NOW)
    assert store.get_manifest(manifest.manifest_id).state == ManifestState.RUNNING
    assert store.get_file(taken).state == FileState.PENDING and store.get_file(taken).ledger == Ledger()


def test_file_updates_apply_where_their_condition_holds_and_name_the_rest(store: StateStore) -> None:
    manifest = claimed(store, n=4)
    first, second, *rest = manifest.file_ids
    changes = [FileChange(fid, FileState.CLAIMED, manifest.manifest_id, error="x") for fid in rest]
    wrong_manifest = FileChange(first, FileState.CLAIMED, "another", error="x")
    wrong_state = FileChange(second, FileState.PENDING, None, error="x")
    assert sorted(store._update_files([wrong_manifest, *changes, wrong_state])) == sorted([first, second])
    assert [store.get_file(fid).error for fid in manifest.file_ids] == [None, None, "x", "x"]


def test_succeed_needs_a_ledger_for_every_file(store: StateStore) -> None:
    manifest = store.start(claimed(store).manifest_id, "w1", now=NOW)
    with pytest.raises(InvalidTransition):
        store.succeed(manifest, "w1", ["o"], {}, now=NOW)


def test_fail_then_compensate_puts_files_back_with_one_more_attempt(store: StateStore) -> None:
    manifest = store.start(claimed(store).manifest_id, "w1", now=NOW)
    failed = store.fail(manifest, "w1", "boom", now=NOW + 1)
    assert failed.state == ManifestState.FAILED and failed.error == "boom"
    with pytest.raises(ConditionFailed):
        store.start(failed.manifest_id, "w2")
    done = store.compensate(failed, now=NOW + 2)
    assert (done.state, done.settled) == (ManifestState.COMPENSATED, True)
    assert store.get_manifest(done.manifest_id).state == ManifestState.COMPENSATED
    pending = store.pending(DATASET, DATE, 10).items
    assert [r.file_id for r in pending] == list(manifest.file_ids)
    assert all(r.attempts == 1 and r.manifest_id is None and r.error == "boom" for r in pending)
    assert list(store.live_manifests()) == []
    assert store.counts()["manifests"]["COMPENSATED"] == 1


def test_fail_of_a_never_started_manifest_and_wrong_owner(store: StateStore) -> None:
    manifest = claimed(store)
    with pytest.raises(ConditionFailed):
        store.fail(store.start(manifest.manifest_id, "w1", now=NOW), "w2", "not mine")
    other = claimed(store, prefix="q")
    assert store.fail(other, None, "lost start", now=NOW).state == ManifestState.FAILED


def test_files_fail_for_good_after_max_attempts_and_retry_brings_them_back(store_factory) -> None:  # type: ignore[no-untyped-def]
    store = store_factory(max_attempts=2)
    store.register(records(2))
    for round_ in range(2):
        files = store.pending(DATASET, DATE, 10).items
        assert len(files) == 2, round_
        manifest = store.claim(files, "retry", now=NOW)
        store.compensate(store.fail(manifest, None, f"boom {round_}", now=NOW), now=NOW)
    assert store.pending(DATASET, DATE, 10).items == []
    dead = store.failed(DATASET, DATE, 10).items
    assert len(dead) == 2 and all(r.state == FileState.FAILED and r.attempts == 2 for r in dead)
    assert store.date_status(DATASET, DATE).files == {"FAILED": 2}  # type: ignore[union-attr]
    assert store.retry_failed(DATASET, DATE, now=NOW) == 2
    back = store.pending(DATASET, DATE, 10).items
    assert len(back) == 2 and all(r.attempts == 0 and r.error is None for r in back)
    assert store.failed(DATASET, DATE, 10).items == []
    assert store.counts()["files"] == {**store.counts()["files"], "PENDING": 2, "FAILED": 0}


def test_requeue_returns_a_running_manifest_to_created_under_the_same_id(store: StateStore) -> None:
    running = store.start(claimed(store).manifest_id, "dead-worker", now=NOW)
    requeued = store.requeue(running, now=NOW + 1_000)
    assert (requeued.state, requeued.lease_owner, requeued.manifest_id) == (
        ManifestState.CREATED,
        None,
        running.manifest_id,
    )
    assert store.start(running.manifest_id, "w2", now=NOW + 1_001).runs == 2
    with pytest.raises(ConditionFailed):
        store.requeue(running)  # stale copy: the owner moved on


def test_live_manifests_lists_only_unsettled_ones_across_pages(store_factory) -> None:  # type: ignore[no-untyped-def]
    store = store_factory(page_size=2)
    store.register(records(10))
    files = store.pending(DATASET, DATE, 2).items
    made = []
    for i in range(5):
        files = store.pending(DATASET, DATE, 2).items
        made.append(store.claim(files, "m", now=NOW + i))
    done = store.start(made[0].manifest_id, "w", now=NOW)  # type: ignore[union-attr]
    store.succeed(done, "w", ["o"], ledgers(done), now=NOW)
    live = [m.manifest_id for m in store.live_manifests()]
    assert sorted(live) == sorted(m.manifest_id for m in made[1:])  # type: ignore[union-attr]
    assert store.counts()["manifests"]["CREATED"] == 4


def test_seal_marks_a_finished_date_and_a_late_file_reopens_it(store: StateStore) -> None:
    manifest = claimed(store)
    with pytest.raises(InvalidTransition):
        store.seal(DATASET, DATE, now=NOW)  # files still claimed
    running = store.start(manifest.manifest_id, "w", now=NOW)
    store.succeed(running, "w", ["o"], ledgers(running), now=NOW)
    sealed = store.seal(DATASET, DATE, now=NOW + 1)
    assert sealed.sealed_at == NOW + 1 and sealed.files == {"DONE": 3}
    result = store.register(records(1, prefix="late", start=9_000.0))
    assert result.late == [(DATASET, DATE)]
    status = store.date_status(DATASET, DATE)
    assert status is not None and status.sealed_at is None and status.late_files == 1
    assert status.files == {"DONE": 3, "PENDING": 1}
    assert store.register(records(1, prefix="late", start=9_000.0)).late == []  # not late twice


def test_schema_versions_are_compare_and_set(store: StateStore) -> None:
    assert store.get_schema(DATASET) is None
    assert store.put_schema(DATASET, '{"a": "int"}', 0) == 1
    with pytest.raises(ConditionFailed):
        store.put_schema(DATASET, '{"b": "int"}', 0)
    assert store.put_schema(DATASET, '{"a": "double"}', 1) == 2
    with pytest.raises(ConditionFailed):
        store.put_schema(DATASET, '{"c": "int"}', 1)
    assert store.get_schema(DATASET) == (2, '{"a": "double"}')


def test_finished_records_carry_the_ttl_attribute(store: StateStore) -> None:
    manifest = store.start(claimed(store).manifest_id, "w", now=NOW)
    store.succeed(manifest, "w", ["o"], ledgers(manifest), now=NOW)
    expected = int(NOW) + store.policy.retention_days * 86_400
    assert int(raw(store, "manifest", manifest.manifest_id)["expires_at"]) == expected
    for fid in manifest.file_ids:
        assert int(raw(store, "file", fid)["expires_at"]) == expected
    pending = records(1, prefix="p")[0]
    store.register([pending])
    assert raw(store, "file", pending.file_id).get("expires_at") is None


def interrupt_claim(store: StateStore, files: list, monkeypatch: pytest.MonkeyPatch) -> Manifest:  # type: ignore[type-arg]
    """Leave a CLAIMING manifest holding some of `files`, as a crashed claimer would."""
    if isinstance(store, DynamoDbStore):
        written: list[str] = []  # manifest states put, in order
        claims = 0  # file-claim transactions (~100 items each)
        real = store.requests.transact

        def crashing(items: list[dict[str, Any]]) -> None:
            nonlocal claims
            written.extend(i["Put"]["Item"]["state"]["S"] for i in items if "state" in i.get("Put", {}).get("Item", {}))
            if len(items) > 90:
                claims += 1
                if claims == 2:  # one chunk of files claimed, then the claimer dies
                    raise RuntimeError("claimer crashed")
            real(items)

        monkeypatch.setattr(store.requests, "transact", crashing)
        with pytest.raises(RuntimeError):
            store.claim(files, "big", now=NOW)
        monkeypatch.undo()
        assert written == ["CLAIMING"]  # the big claim wrote its manifest as CLAIMING first
    else:
        assert isinstance(store, SqliteStore)
        db = sqlite3.connect(store.path)
        ids = [f.file_id for f in files[:50]]
        db.execute(
            "INSERT INTO manifests VALUES ('m-claiming', ?, ?, 'CLAIMING', '[]', 0, ?, ?, 'big', 0, NULL, ?,"
            " 0, '[]', '{}', NULL, NULL)",
            (DATASET, DATE, NOW, NOW, NOW + 900),
        )
        db.executemany(
            "UPDATE files SET state = 'CLAIMED', manifest_id = 'm-claiming' WHERE file_id = ?", [(i,) for i in ids]
        )
        db.commit()
        db.close()
    (claiming,) = [m for m in store.live_manifests() if m.state == ManifestState.CLAIMING]
    return claiming


def test_abandoning_an_interrupted_claim_releases_its_files(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.register(records(300))
    files = store.pending(DATASET, DATE, 300).items
    claiming = interrupt_claim(store, files, monkeypatch)
    assert store.counts()["files"]["CLAIMED"] > 0
    with pytest.raises(InvalidTransition):
        store.abandon_claim(claiming.evolve(state=ManifestState.CREATED))
    store.abandon_claim(claiming)
    assert len(store.pending(DATASET, DATE, 1_000).items) == 300
    counts = store.counts()
    assert counts["files"]["PENDING"] == 300 and counts["files"]["CLAIMED"] == 0
    assert counts["manifests"]["CLAIMING"] == 0
    assert list(store.live_manifests()) == []
    assert store.claim(files, "retry", now=NOW) is not None  # the files are claimable again


def test_manifests_of_lists_one_dates_manifests_in_every_state_oldest_first(store: StateStore) -> None:
    def claim_at(at: float, prefix: str, **kw: Any) -> Manifest:
        store.register(records(3, prefix=prefix, **kw))
        files = store.pending(kw.get("dataset", DATASET), kw.get("date", DATE), 3).items
        manifest = store.claim(files, "test", now=at)
        assert manifest is not None
        return manifest

    succeeded = store.start(claim_at(NOW + 1, "a").manifest_id, "w", now=NOW)
    store.succeed(succeeded, "w", ["o"], ledgers(succeeded), now=NOW)
    failed = store.start(claim_at(NOW + 2, "b").manifest_id, "w", now=NOW)
    store.compensate(store.fail(failed, "w", "boom", now=NOW), now=NOW)
    created = claim_at(NOW + 3, "c")
    claim_at(NOW, "d", date="2026-11-26")  # another date
    claim_at(NOW, "e", dataset="other")  # another dataset
    listed = list(store.manifests_of(DATASET, DATE))
    assert [m.manifest_id for m in listed] == [succeeded.manifest_id, failed.manifest_id, created.manifest_id]
    assert [m.state for m in listed] == [ManifestState.SUCCEEDED, ManifestState.COMPENSATED, ManifestState.CREATED]
    assert listed[0].file_ids == succeeded.file_ids and listed[0].outputs == ("o",)
    assert list(store.manifests_of(DATASET, "1999-01-01")) == []


def test_manifest_pages_are_bounded_and_resume_where_they_stopped(store_factory) -> None:  # type: ignore[no-untyped-def]
    store = store_factory()
    store.register(records(250))
    made = []
    for i in range(5):  # a big one (CLAIMING protocol on DynamoDB) among small ones
        size = 120 if i == 2 else 10
        manifest = store.claim(store.pending(DATASET, DATE, size).items, "m", now=NOW + i)
        assert manifest is not None
        made.append(manifest)
    pages, cursor = [], None
    while True:
        page = store._query_manifests(DATASET, DATE, 2, cursor)
        assert 1 <= len(page.items) <= 2
        pages.append([m.manifest_id for m in page.items])
        if page.cursor is None:
            break
        cursor = page.cursor
    assert [mid for p in pages for mid in p] == [m.manifest_id for m in made]
    assert len(pages) == 3
    listed = list(store_factory(page_size=2).manifests_of(DATASET, DATE))  # 3 pages behind the iterator
    assert listed == made
    assert len(listed[2].file_ids) == 120
