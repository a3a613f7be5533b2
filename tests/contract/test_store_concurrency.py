"""Racing claimers: every file ends up in exactly one manifest, whatever interleaving happens."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ndjson2parquet.config.settings import StorePolicy
from ndjson2parquet.domain.states import FileState
from ndjson2parquet.state.base import StateStore
from ndjson2parquet.state.sqlite_store import SqliteStore
from tests.contract.conftest import DATASET, DATE, FAST, StoreFactory, records

CLAIMERS = 8
MAX_FILES = 100
# moto serialises every request in one Python process, so the DynamoDB variant uses fewer files
FILES = {"sqlite": 10_000, "dynamodb": int(os.environ.get("DYNAMO_RACE_FILES", "300"))}


def claim_until_empty(store: StateStore, limit: int = MAX_FILES) -> list[str]:
    """What a batching worker does: list the oldest pending files and try to claim them, until none is left."""
    mine: list[str] = []
    while True:
        page = store.pending(DATASET, DATE, limit)
        if not page.items:
            return mine
        manifest = store.claim(page.items, "max_files")
        if manifest is not None:
            mine.append(manifest.manifest_id)


def assert_each_file_in_exactly_one_manifest(store: StateStore, manifest_ids: list[str], n: int) -> None:
    manifests = [store.get_manifest(mid) for mid in manifest_ids]
    owners = Counter(fid for m in manifests for fid in m.file_ids)
    assert len(owners) == n and set(owners.values()) == {1}
    for manifest in manifests:
        assert all(r.state == FileState.CLAIMED and r.manifest_id == manifest.manifest_id
                   for r in store.files_of(manifest))
    counts = store.counts()
    assert counts["files"]["CLAIMED"] == n and counts["files"]["PENDING"] == 0
    assert counts["manifests"]["CREATED"] == len(manifest_ids)


def test_concurrent_claimer_threads_never_share_a_file(store_factory: StoreFactory, backend: str) -> None:
    n = FILES[backend]
    store_factory().register(records(n))
    stores = [store_factory() for _ in range(CLAIMERS)]  # one store (connection / client) per worker
    started = time.monotonic()
    with ThreadPoolExecutor(CLAIMERS) as pool:
        results = list(pool.map(claim_until_empty, stores))
    elapsed = time.monotonic() - started
    assert_each_file_in_exactly_one_manifest(stores[0], [m for r in results for m in r], n)
    # which thread wins is up to the scheduler, so how many manifests each made is only reported
    print(f"{backend}: {CLAIMERS} threads claimed {n} files in {elapsed:.1f}s, manifests per thread "
          f"{[len(r) for r in results]}")


def _claimer_process(path: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = SqliteStore(path, policy=StorePolicy(), backoff=FAST)
    queue.put(claim_until_empty(store))
    store.close()


def test_concurrent_claimer_processes_never_share_a_file_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SqliteStore(path)
    store.register(records(FILES["sqlite"]))
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_claimer_process, args=(str(path), queue)) for _ in range(CLAIMERS)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    assert_each_file_in_exactly_one_manifest(store, [m for r in results for m in r], FILES["sqlite"])


@pytest.mark.parametrize("backend", ["dynamodb"], indirect=True)
def test_concurrent_big_claims_stay_all_or_none(store_factory: StoreFactory) -> None:
    """Claims over 100 files take the multi-step CLAIMING path on DynamoDB; overlaps must roll back."""
    n = 600
    store_factory().register(records(n))
    stores = [store_factory() for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda s: claim_until_empty(s, limit=300), stores))
    assert_each_file_in_exactly_one_manifest(stores[0], [m for r in results for m in r], n)
    assert stores[0].counts()["manifests"]["CLAIMING"] == 0
