"""SQLite's "database or disk is full" is resource exhaustion, not a busy store, and leaves the store usable."""

from __future__ import annotations

from pathlib import Path

import pytest

from ndjson2parquet.domain.errors import ResourceExhausted
from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.state.sqlite import SqliteStore


def _records(n: int, prefix: str) -> list[FileRecord]:
    return [
        FileRecord.new("events", "2026-11-25", ObjectInfo(f"/in/{prefix}{i:06d}.ndjson", f"k{i}", "v1", 100, 1.0), 1.0)
        for i in range(n)
    ]


def test_a_full_state_store_raises_resource_exhausted_and_stays_usable(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.register(_records(10, "a"))
    db = store.db.connection()
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: SQLITE_FULL, as on a full disk
    with pytest.raises(ResourceExhausted, match="state store full") as caught:
        store.register(_records(5000, "b"))
    assert "database or disk is full" in str(caught.value) and str(tmp_path / "state.db") in str(caught.value)
    assert not caught.value.transient  # no backoff loop: the run stops
    assert not db.in_transaction  # rolled back: the next write can begin
    db.execute("PRAGMA max_page_count = 1073741823")  # space freed
    assert store.register(_records(5000, "b")).new == 5000
    assert store.counts()["files"]["PENDING"] == 5010
