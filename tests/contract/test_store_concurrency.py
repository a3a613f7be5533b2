"""Racing claimers: every file ends up in exactly one manifest, whatever interleaving happens."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ndjson2parquet.backoff import Backoff
from ndjson2parquet.config.settings import StorePolicy
from ndjson2parquet.domain.states import FileState
from ndjson2parquet.state.base import StateStore
from ndjson2parquet.state.dynamodb.manifests import INLINE_IDS
from ndjson2parquet.state.sqlite import SqliteStore
from tests.contract.conftest import DATASET, DATE, FAST, StoreFactory, records

CLAIMERS = 8
FILES = 10_000
MAX_FILES = INLINE_IDS  # the largest claim DynamoDB commits in one transaction
# a claimer that lost a race waits (full jitter, growing while it keeps losing) before listing again,
# as every retry in this system does: without it, 8 claimers re-read the same head in lockstep
LOST_RACE = Backoff(base=0.05, cap=1.0)


def claim_until_empty(store: StateStore, limit: int = MAX_FILES) -> tuple[list[str], int]:
    """What a batching worker does: list the oldest pending files and try to claim them, until none
    is left. Returns the manifests it made and how many races it lost."""
    mine: list[str] = []
    lost = streak = 0
    while True:
        page = store.pending(DATASET, DATE, limit)
        if not page.items:
            return mine, lost
        manifest = store.claim(page.items, "max_files")
        if manifest is not None:
            mine.append(manifest.manifest_id)
            streak = 0
        else:
            lost += 1
            time.sleep(LOST_RACE.delay(streak))
            streak += 1


def assert_each_file_in_exactly_one_manifest(store: StateStore, manifest_ids: list[str], n: int) -> None:
    manifests = [store.get_manifest(mid) for mid in manifest_ids]
    owners = Counter(fid for m in manifests for fid in m.file_ids)
    assert len(owners) == n and set(owners.values()) == {1}
    for manifest in manifests:
        assert all(
            r.state == FileState.CLAIMED and r.manifest_id == manifest.manifest_id for r in store.files_of(manifest)
        )
    counts = store.counts()
    assert counts["files"]["CLAIMED"] == n and counts["files"]["PENDING"] == 0
    assert counts["manifests"]["CREATED"] == len(manifest_ids)


# moto serves the DynamoDB case's ~20,000 requests in Python on the same two cores: about 3.5 minutes
# alone, more beside the rest of the suite (the default 300 s guard is for hangs, not for this)
@pytest.mark.timeout(900)
def test_8_claimer_threads_over_10000_files_put_each_file_in_exactly_one_manifest(
    store_factory: StoreFactory, backend: str
) -> None:
    started = time.monotonic()
    store_factory().register(records(FILES))
    registered = time.monotonic()
    stores = [store_factory() for _ in range(CLAIMERS)]  # one store (connection / client) per worker
    with ThreadPoolExecutor(CLAIMERS) as pool:
        results = list(pool.map(claim_until_empty, stores))
    claimed = time.monotonic()
    assert_each_file_in_exactly_one_manifest(stores[0], [m for r, _ in results for m in r], FILES)
    # which thread wins is up to the scheduler, so manifests and lost races per thread are only reported
    print(
        f"{backend}: registered {FILES} files in {registered - started:.1f}s; {CLAIMERS} threads claimed them "
        f"in {claimed - registered:.1f}s; manifests per thread {[len(r) for r, _ in results]}, "
        f"lost races {[n for _, n in results]}; checked in {time.monotonic() - claimed:.1f}s"
    )


def _claimer_process(path: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = SqliteStore(path, policy=StorePolicy(), backoff=FAST)
    queue.put(claim_until_empty(store)[0])
    store.close()


def test_concurrent_claimer_processes_never_share_a_file_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SqliteStore(path)
    store.register(records(FILES))
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_claimer_process, args=(str(path), queue)) for _ in range(CLAIMERS)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    assert_each_file_in_exactly_one_manifest(store, [m for r in results for m in r], FILES)


@pytest.mark.parametrize("backend", ["dynamodb"], indirect=True)
def test_concurrent_big_claims_stay_all_or_none(store_factory: StoreFactory) -> None:
    """Claims over 100 files take the multi-step CLAIMING path on DynamoDB; overlaps must roll back."""
    n = 600
    store_factory().register(records(n))
    stores = [store_factory() for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda s: claim_until_empty(s, limit=300), stores))
    assert_each_file_in_exactly_one_manifest(stores[0], [m for r, _ in results for m in r], n)
    assert stores[0].counts()["manifests"]["CLAIMING"] == 0
