"""What a rebuild from the lake needs of a store: known manifests looked up in batches, and committed
manifests imported (conditional, idempotent), on both stores."""

from __future__ import annotations

import dataclasses

import pytest

from ndjson2parquet.domain.errors import ConditionFailed, InvalidTransition
from ndjson2parquet.domain.records import FileRecord, Ledger, Manifest
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.state.base import StateStore
from tests.contract.conftest import DATASET, DATE, StoreFactory, records

NOW = 1_800_000_000.0
MID = "20261125-abc-000000000001"


def committed(n: int, manifest_id: str = MID, prefix: str = "k") -> tuple[Manifest, list[FileRecord]]:
    """A manifest as a commit record describes it: SUCCEEDED and settled; its first file rejected."""
    files = [
        dataclasses.replace(
            r,
            state=FileState.REJECTED if i == 0 else FileState.DONE,
            manifest_id=manifest_id,
            ledger=Ledger(4, 1, 3, 0, ("/lake/part-0.parquet",), "corrupt gzip" if i == 0 else None),
            updated_at=NOW,
        )
        for i, r in enumerate(records(n, prefix=prefix))
    ]
    manifest = Manifest(
        manifest_id=manifest_id,
        dataset=DATASET,
        date=DATE,
        file_ids=tuple(f.file_id for f in files),
        bytes=sum(f.size for f in files),
        state=ManifestState.SUCCEEDED,
        created_at=NOW - 10,
        updated_at=NOW,
        reason="drain",
        runs=1,
        settled=True,
        outputs=("/lake/part-0.parquet",),
        stats={"rows_written": 3 * (n - 1), "quarantine": None},
    )
    return manifest, files


@pytest.mark.parametrize("n", [3, 120])  # 120: too many ids for a DynamoDB manifest item of its own
def test_import_restores_a_committed_manifest_its_files_ledgers_and_counts(store: StateStore, n: int) -> None:
    manifest, files = committed(n)
    assert store.import_committed(manifest, files) is True
    assert store.get_manifest(MID) == manifest
    assert {r.file_id: r for r in store.files_of(manifest)} == {f.file_id: f for f in files}
    assert store.files_by_uri(files[1].uri) == [files[1]]
    assert [r.file_id for r in store.rejected(DATASET, DATE, 10).items] == [files[0].file_id]
    assert store.pending(DATASET, DATE, 10).items == []
    assert list(store.live_manifests()) == []
    assert [m.manifest_id for m in store.manifests_of(DATASET, DATE)] == [MID]
    counts = store.counts()
    assert counts["files"]["DONE"] == n - 1 and counts["files"]["REJECTED"] == 1
    assert counts["manifests"]["SUCCEEDED"] == 1
    status = store.date_status(DATASET, DATE)
    assert status is not None and status.files == {"DONE": n - 1, "REJECTED": 1}


def test_importing_the_same_manifest_again_changes_nothing(store: StateStore) -> None:
    manifest, files = committed(3)
    assert store.import_committed(manifest, files) is True
    assert store.import_committed(manifest, files) is False
    assert store.counts()["files"]["DONE"] == 2 and store.counts()["manifests"]["SUCCEEDED"] == 1


def test_import_finishes_what_an_interrupted_import_left(store: StateStore) -> None:
    manifest, files = committed(5)
    store._import_files(files[:2])  # a crash after some files and before the manifest
    assert store.import_committed(manifest, files) is True
    assert store.counts()["files"]["DONE"] == 4 and store.counts()["files"]["REJECTED"] == 1
    assert store.get_manifest(MID).state == ManifestState.SUCCEEDED


def test_import_takes_pending_files_registered_since_to_their_final_state(store: StateStore) -> None:
    store.register(records(3))
    manifest, files = committed(3)
    assert store.import_committed(manifest, files) is True
    assert {r.file_id: r for r in store.files_of(manifest)} == {f.file_id: f for f in files}
    assert store.pending(DATASET, DATE, 10).items == []
    assert store.counts()["files"]["PENDING"] == 0


def test_import_refuses_files_another_manifest_holds_and_writes_nothing(store: StateStore) -> None:
    store.register(records(3))
    claim = store.claim(store.pending(DATASET, DATE, 10).items, "test", now=NOW)
    assert claim is not None
    manifest, files = committed(3)
    with pytest.raises(ConditionFailed, match="3 file"):
        store.import_committed(manifest, files)
    assert store.known_manifests([MID]) == set()
    assert all(r.state == FileState.CLAIMED and r.manifest_id == claim.manifest_id for r in store.files_of(claim))


def test_import_accepts_only_a_settled_succeeded_manifest_with_its_own_files(store: StateStore) -> None:
    manifest, files = committed(3)
    with pytest.raises(InvalidTransition):
        store.import_committed(manifest.evolve(settled=False), files)
    with pytest.raises(InvalidTransition):
        store.import_committed(manifest, files[:2])
    with pytest.raises(InvalidTransition):
        store.import_committed(manifest, [dataclasses.replace(files[1], state=FileState.PENDING), *files[:1], files[2]])
    assert store.counts()["files"] == {s.value: 0 for s in FileState}


def test_known_manifests_names_the_stored_ones_in_any_state(store_factory: StoreFactory) -> None:
    store = store_factory(page_size=2)  # several lookups
    store.register(records(2))
    claim = store.claim(store.pending(DATASET, DATE, 10).items, "test", now=NOW)
    assert claim is not None
    manifest, files = committed(3, prefix="z")
    store.import_committed(manifest, files)
    asked = [claim.manifest_id, "nope-1", MID, "nope-2", "nope-3"]
    assert store.known_manifests(asked) == {claim.manifest_id, MID}
    assert store.known_manifests([]) == set()
