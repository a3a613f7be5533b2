"""Batches of rows written and read in one SQLite step (`state.sqlite.bulk`), and reads that do not
wait for a write (`SqliteDatabase`'s pool of read connections)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ndjson2parquet.backoff import Backoff
from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.state.sqlite.bulk import each_statement, execute_each, select_many
from ndjson2parquet.state.sqlite.database import SqliteDatabase

# 15 significant digits (what SQLite's JSON writes) would read this back as 1796152750.37213
EXACT_TIME = 1796152750.3721304


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("CREATE TABLE t (id TEXT PRIMARY KEY, state TEXT, n INTEGER, at REAL NOT NULL, note TEXT)")
    yield connection
    connection.close()


def _statements(db: sqlite3.Connection) -> list[str]:
    seen: list[str] = []
    db.set_trace_callback(seen.append)
    return seen


def test_an_insert_of_many_rows_is_one_statement_and_keeps_every_type(db: sqlite3.Connection) -> None:
    rows = [[f"id-{i}", "PENDING", i, EXACT_TIME + i, None] for i in range(1000)]
    seen = _statements(db)
    execute_each(db, "INSERT INTO t (id, state, n, at, note) VALUES (?, ?, ?, ?, ?)", rows)
    assert len(seen) == 1
    stored = db.execute("SELECT id, state, n, at, note, typeof(n), typeof(at) FROM t ORDER BY n").fetchall()
    assert [list(r[:5]) for r in stored] == rows
    assert {(r[5], r[6]) for r in stored} == {("integer", "real")}


def test_a_conditional_update_of_many_rows_changes_only_the_rows_whose_condition_holds(
    db: sqlite3.Connection,
) -> None:
    execute_each(
        db, "INSERT INTO t (id, state, n, at) VALUES (?, ?, ?, ?)", [[f"id-{i}", "PENDING", 0, 1.0] for i in range(10)]
    )
    db.execute("UPDATE t SET state = 'CLAIMED' WHERE id = 'id-3'")  # another writer took one
    before = db.total_changes
    seen = _statements(db)
    execute_each(
        db,
        "UPDATE t SET state = ?, n = ? WHERE id = ? AND state = ? AND note IS ?",
        [["DONE", i, f"id-{i}", "PENDING", None] for i in range(10)],
    )
    assert len(seen) == 1
    assert db.total_changes - before == 9
    assert db.execute("SELECT state, n FROM t WHERE id = 'id-3'").fetchone() == ("CLAIMED", 0)
    assert db.execute("SELECT count(*) FROM t WHERE state = 'DONE'").fetchone() == (9,)


def test_only_one_row_inserts_and_updates_have_a_one_statement_form() -> None:
    with pytest.raises(ValueError, match="not a one-row INSERT or UPDATE"):
        each_statement("DELETE FROM t WHERE id = ?")


def test_a_read_of_many_rows_is_one_step_and_gives_real_values_back_exactly(db: sqlite3.Connection) -> None:
    execute_each(
        db,
        "INSERT INTO t (id, state, n, at) VALUES (?, ?, ?, ?)",
        [[f"id-{i}", "P", i, EXACT_TIME + i] for i in range(500)],
    )
    steps = 0

    def read(sql: str, params: object) -> list[tuple[object, ...]]:
        nonlocal steps
        rows = db.execute(sql, params).fetchall()  # type: ignore[arg-type]
        steps += len(rows)
        return rows

    rows = select_many(read, ("id", "n", "at"), frozenset({"at"}), "FROM t WHERE n < ? ORDER BY n", (300,))
    assert steps == 1
    assert sorted(rows, key=lambda r: r[1]) == [[f"id-{i}", i, EXACT_TIME + i] for i in range(300)]


def _record(i: int) -> FileRecord:
    obj = ObjectInfo(uri=f"/in/f{i}.ndjson", key=f"f{i}.ndjson", version=f"10-{i}", size=10, modified_at=EXACT_TIME)
    return FileRecord.new("default", "2026-04-01", obj, EXACT_TIME + i)


def test_the_planners_pages_keep_fifo_order_and_exact_timestamps(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    try:
        store.register([_record(i) for i in range(25)])
        seen, cursor = [], None
        while True:
            page = store.pending("default", "2026-04-01", 10, cursor)
            seen += page.items
            if page.cursor is None:
                break
            cursor = page.cursor
        assert [r.uri for r in seen] == [f"/in/f{i}.ndjson" for i in range(25)]
        assert [r.registered_at for r in seen] == [EXACT_TIME + i for i in range(25)]
    finally:
        store.close()


def test_a_read_does_not_wait_for_a_write_in_progress(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "state.db", Backoff(base=0.01, cap=0.1))
    writing, read_done = threading.Event(), threading.Event()
    found: list[object] = []

    def reader() -> None:
        writing.wait(10)
        found.extend(database.read("SELECT count(*) FROM files"))
        read_done.set()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        with database.write() as db:
            db.execute("INSERT INTO owners (owner, alive_until) VALUES ('w', 1.0)")
            writing.set()
            # the write holds its lock until the read is over: a read behind that lock never ends
            assert read_done.wait(10), "the read waited for the write"
    finally:
        thread.join(10)
        database.close()
    assert found == [(0,)]


def test_closing_the_database_leaves_no_wal_file_even_after_reads_on_finished_threads(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "state.db", Backoff(base=0.01, cap=0.1))
    with database.write() as db:
        db.execute("INSERT INTO owners (owner, alive_until) VALUES ('w', 1.0)")
    threads = [threading.Thread(target=lambda: database.read("SELECT count(*) FROM owners")) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert database.read("SELECT count(*) FROM owners") == [(1,)]
    database.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]
    assert database.read("SELECT count(*) FROM owners") == [(1,)]  # opened again after close
    database.close()
