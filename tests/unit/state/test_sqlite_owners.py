"""Owner records in an SQLite state file made before they existed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ndjson2parquet.state.sqlite import SqliteStore


def test_a_read_only_state_file_without_an_owners_table_knows_no_live_owner(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE owners")
    db.close()
    store = SqliteStore(path, read_only=True)
    try:
        assert not store.owner_alive("proc-1", now=1_000.0)
    finally:
        store.close()


def test_opening_an_old_state_file_for_writing_adds_the_owners_table(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE owners")
    db.close()
    store = SqliteStore(path)
    try:
        store.announce_owner("proc-1", 10.0, now=1_000.0)
        assert store.owner_alive("proc-1", now=1_005.0)
    finally:
        store.close()
