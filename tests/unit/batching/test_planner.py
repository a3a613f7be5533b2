"""When manifests close, and that concurrent planners never share a file."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ndjson2parquet.batching.planner import Planner, end_of_day
from ndjson2parquet.config.settings import BatchPolicy
from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.state.sqlite import SqliteStore

DATE = "2026-11-25"
NOON = datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp()


def _register(store: SqliteStore, n: int, size: int = 100, at: float = NOON, date: str = DATE) -> None:
    store.register(
        FileRecord.new("default", date, ObjectInfo(f"/in/{date}/{i}", f"{i}", "v1", size, at), at) for i in range(n)
    )


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "state.db")


def test_closes_at_max_files_and_keeps_a_young_remainder_open(store: SqliteStore) -> None:
    _register(store, 25)
    closed = [c.manifest for c in Planner(store, BatchPolicy(max_files=10, max_wait_s=60)).close_ready(now=NOON + 1)]
    assert [len(m.file_ids) for m in closed] == [10, 10]
    assert {m.reason for m in closed} == {"max_files"}


def test_closes_at_target_bytes(store: SqliteStore) -> None:
    _register(store, 10, size=400)
    policy = BatchPolicy(max_files=100, target_bytes=1000, max_wait_s=60)
    closed = [c.manifest for c in Planner(store, policy).close_ready(now=NOON)]
    assert [len(m.file_ids) for m in closed] == [3, 3, 3]
    assert all(m.reason == "target_bytes" and m.bytes >= 1000 for m in closed)


def test_closes_the_remainder_when_its_oldest_file_waited_max_wait(store: SqliteStore) -> None:
    _register(store, 5)
    planner = Planner(store, BatchPolicy(max_files=10, max_wait_s=60))
    assert list(planner.close_ready(now=NOON + 59)) == []
    (claim,) = planner.close_ready(now=NOON + 60)
    manifest = claim.manifest
    assert manifest.reason == "max_wait" and len(manifest.file_ids) == 5


def test_flushes_a_date_past_its_grace_period(store: SqliteStore) -> None:
    _register(store, 3)
    planner = Planner(store, BatchPolicy(max_files=10, max_wait_s=10**9, grace_period_s=3600))
    assert list(planner.close_ready(now=end_of_day(DATE) + 3599)) == []
    (claim,) = planner.close_ready(now=end_of_day(DATE) + 3600)
    assert claim.manifest.reason == "seal"


def test_drain_closes_every_remainder(store: SqliteStore) -> None:
    _register(store, 3)
    (claim,) = Planner(store, BatchPolicy(max_wait_s=10**9)).close_ready(drain=True, now=NOON)
    assert claim.manifest.reason == "drain"


def test_concurrent_planners_put_every_file_in_exactly_one_manifest(tmp_path: Path) -> None:
    _register(SqliteStore(tmp_path / "state.db"), 2000)
    results: list[list[str]] = []

    def plan() -> None:
        planner = Planner(SqliteStore(tmp_path / "state.db"), BatchPolicy(max_files=37))
        results.append([f for c in planner.close_ready(drain=True, now=NOON) for f in c.manifest.file_ids])

    threads = [threading.Thread(target=plan) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [f for r in results for f in r]
    assert len(claimed) == len(set(claimed)) == 2000
