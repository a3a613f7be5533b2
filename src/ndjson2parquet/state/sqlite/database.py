"""The SQLite file behind `SqliteStore`: its schema, its connections, its transactions.

One file, WAL. Writes are IMMEDIATE transactions on one shared connection (the process's writers
queue on a lock; other processes' writers are waited for with backoff); reads go through a
pool of read connections, so they never wait for a write (WAL lets readers and one
writer work at once). "database or disk is full" stops the run (ResourceExhausted). Partial indexes
play the part of DynamoDB's sparse keys: only PENDING (or FAILED, REJECTED, CHANGED) files are in
the waiting indexes and only unsettled manifests in the live index, so hot queries stay small.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ...backoff import Backoff
from ...domain.errors import ConfigError, ResourceExhausted, StoreUnavailable

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    file_id TEXT PRIMARY KEY, dataset TEXT NOT NULL, uri TEXT NOT NULL, version TEXT NOT NULL,
    size INTEGER NOT NULL, date TEXT NOT NULL, arrived_at REAL NOT NULL, registered_at REAL NOT NULL,
    state TEXT NOT NULL, manifest_id TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    lines INTEGER NOT NULL DEFAULT 0, blank INTEGER NOT NULL DEFAULT 0,
    rows_written INTEGER NOT NULL DEFAULT 0, rows_quarantined INTEGER NOT NULL DEFAULT 0,
    outputs TEXT NOT NULL DEFAULT '[]', rejection TEXT, error TEXT,
    updated_at REAL NOT NULL, expires_at INTEGER,
    start_offset INTEGER NOT NULL DEFAULT 0, first_line INTEGER NOT NULL DEFAULT 1, changed_from TEXT,
    end_offset INTEGER NOT NULL DEFAULT 0, digest TEXT
);
DROP INDEX IF EXISTS files_pending;
DROP INDEX IF EXISTS files_failed;
CREATE INDEX IF NOT EXISTS files_pending_fifo ON files (dataset, date, registered_at) WHERE state = 'PENDING';
CREATE INDEX IF NOT EXISTS files_failed_fifo ON files (dataset, date, registered_at) WHERE state = 'FAILED';
CREATE INDEX IF NOT EXISTS files_rejected_fifo ON files (dataset, date, registered_at) WHERE state = 'REJECTED';
CREATE INDEX IF NOT EXISTS files_changed_fifo ON files (dataset, date, registered_at) WHERE state = 'CHANGED';
CREATE INDEX IF NOT EXISTS files_by_uri ON files (uri);
CREATE INDEX IF NOT EXISTS files_by_date ON files (dataset, date, state);
CREATE TABLE IF NOT EXISTS manifests (
    manifest_id TEXT PRIMARY KEY, dataset TEXT NOT NULL, date TEXT NOT NULL, state TEXT NOT NULL,
    file_ids TEXT NOT NULL, bytes INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    reason TEXT NOT NULL, runs INTEGER NOT NULL, lease_owner TEXT, lease_expires_at REAL,
    settled INTEGER NOT NULL, outputs TEXT NOT NULL, stats TEXT NOT NULL, error TEXT, expires_at INTEGER
);
CREATE INDEX IF NOT EXISTS manifests_live ON manifests (created_at, manifest_id) WHERE settled = 0;
CREATE INDEX IF NOT EXISTS manifests_by_state ON manifests (state);
CREATE INDEX IF NOT EXISTS manifests_by_date ON manifests (dataset, date, created_at, manifest_id);
CREATE TABLE IF NOT EXISTS dates (
    dataset TEXT NOT NULL, date TEXT NOT NULL, sealed_at REAL, late_files INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dataset, date)
);
CREATE TABLE IF NOT EXISTS schemas (dataset TEXT PRIMARY KEY, version INTEGER NOT NULL, schema TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS owners (owner TEXT PRIMARY KEY, alive_until REAL NOT NULL);
"""
_SQLITE_HEADER = b"SQLite format 3\x00"


class SqliteDatabase:
    """One state file: opened (and created, migrated) once, shared by a store's threads.

    ``read_only``: the file must already be a state database; it is opened with ``mode=ro`` and
    never created, migrated or written. When no writer is connected (no ``-wal`` file beside it) it
    is opened ``immutable`` as well: SQLite then creates no ``-wal``/``-shm`` file (so it works on a
    read-only mount); a writer that starts meanwhile is not seen by this reader.
    """

    def __init__(self, path: str | Path, backoff: Backoff, *, read_only: bool = False) -> None:
        self.backoff = backoff
        self.path = Path(path)
        self.read_only = read_only
        if not self.path.parent.is_dir():
            raise ConfigError(f"state folder does not exist: {self.path.parent}")
        # Writes share one connection under a lock (its page cache stays warm from one commit to the
        # next). Reads used to share it too, and then waited behind every write: on 100,000 small
        # files the planner's and the listing's reads spent most of their time queued behind commits.
        # A read connection re-reads the pages another connection's commit changed (WAL empties its
        # cache), which costs far less than the wait.
        self._lock = threading.RLock()
        self._connection: sqlite3.Connection | None = None
        self._idle_readers: list[sqlite3.Connection] = []  # as many as threads ever read at once
        self._readers_lock = threading.Lock()  # not the write lock: a read must never wait for a write
        self._generation = 0  # close() bumps it: a reader in use then is closed when given back
        if read_only:
            self._check_state_file()
        else:
            try:
                self.connection().executescript(_SCHEMA)  # executescript commits on its own: no write() here
                if "seal" not in self._date_columns():  # a state file from before seal records
                    self._add_seal_column()
            except sqlite3.DatabaseError as exc:
                raise ConfigError(f"cannot use state file {self.path}: {exc}") from exc
        self._seal_column = "seal" if "seal" in self._date_columns() else "NULL"
        self.seal_column = self._seal_column

    def _check_state_file(self) -> None:
        """A read-only open needs an existing state database: anything else is a one-line error."""
        try:
            with open(self.path, "rb") as f:
                header = f.read(len(_SQLITE_HEADER))
        except OSError as exc:
            raise ConfigError(f"cannot open state file {self.path}: {exc.strerror or exc}") from exc
        if header != _SQLITE_HEADER:
            raise ConfigError(f"cannot open state file {self.path}: not an ndjson2parquet state database")
        try:
            found = self.connection().execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {row[0] for row in found}
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"cannot open state file {self.path}: {exc}") from exc
        if not {"files", "manifests", "dates", "schemas"} <= tables:
            raise ConfigError(f"cannot open state file {self.path}: not an ndjson2parquet state database")

    def _add_seal_column(self) -> None:
        try:
            self.connection().execute("ALTER TABLE dates ADD COLUMN seal TEXT")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):  # another process added it first: fine
                raise

    def _date_columns(self) -> set[str]:
        return {row[1] for row in self.connection().execute("PRAGMA table_info(dates)")}

    # ----------------------------------------------------------------- connection handling
    def _connect_read_only(self) -> sqlite3.Connection:
        # no -wal file: no writer is connected, so the file is read as it is (immutable: no -shm made)
        live_writer = os.path.exists(f"{self.path}-wal")
        query = "mode=ro" if live_writer else "mode=ro&immutable=1"
        uri = f"file:{urllib.parse.quote(str(self.path.resolve()))}?{query}"
        db = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA query_only=1")
        return db

    def _connect_reader(self) -> sqlite3.Connection:
        if self.read_only:
            return self._connect_read_only()
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA query_only=1")
        db.execute("PRAGMA cache_size=-8192")  # 8 MiB: a page of the planner's next read is likely still here
        return db

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """An idle read connection (a new one when every one is busy), given back after use.

        Pooled, not one per thread: a connection is freed only by the cyclic collector (its statement
        cache refers back to it), so one left behind by a finished thread would keep the -wal file.
        """
        with self._readers_lock:
            generation = self._generation
            connection = self._idle_readers.pop() if self._idle_readers else None
        if connection is None:
            try:
                connection = self._connect_reader()
            except sqlite3.DatabaseError as exc:
                raise ConfigError(f"cannot open state file {self.path}: {exc}") from exc
        try:
            yield connection
        finally:
            with self._readers_lock:
                keep = generation == self._generation
                if keep:
                    self._idle_readers.append(connection)
            if not keep:
                connection.close()

    def connection(self) -> sqlite3.Connection:
        if self._connection is None and self.read_only:
            try:
                self._connection = self._connect_read_only()
            except sqlite3.DatabaseError as exc:
                raise ConfigError(f"cannot open state file {self.path}: {exc}") from exc
        if self._connection is None:
            try:
                db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA foreign_keys=OFF")
                db.execute("PRAGMA cache_size=-32768")  # 32 MiB (default 2): a manifest's rows stay hot
                db.execute("PRAGMA wal_autocheckpoint=16384")  # 64 MiB of WAL between checkpoints, not 4 MiB
            except sqlite3.DatabaseError as exc:
                raise ConfigError(f"cannot open state file {self.path}: {exc}") from exc
            self._connection = db
        return self._connection

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: the write lock is taken up front, so concurrent writers queue."""
        if self.read_only:
            raise ConfigError(f"state file {self.path} is open read-only")
        with self._lock, self._full_is_exhaustion():
            db = self.connection()
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode == sqlite3.SQLITE_FULL:
                    raise
                raise StoreUnavailable(f"state store busy: {exc}") from exc
            try:
                yield db
            except BaseException:
                if db.in_transaction:  # SQLite rolls back by itself on some errors (SQLITE_FULL among them)
                    db.execute("ROLLBACK")
                raise
            else:
                try:
                    db.execute("COMMIT")
                except sqlite3.Error:
                    if db.in_transaction:  # a failed COMMIT (disk full) leaves the transaction open
                        db.execute("ROLLBACK")
                    raise

    @contextmanager
    def _full_is_exhaustion(self) -> Iterator[None]:
        """SQLite's "database or disk is full" is no busy store: the run stops (ResourceExhausted), no retry."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode == sqlite3.SQLITE_FULL:
                message = f"state store full ({exc}): {self.path}; free some room, then run again"
                raise ResourceExhausted(message) from exc
            raise

    def retrying_write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run fn in one write transaction, retried with backoff while the database is busy."""

        def attempt() -> T:
            with self.write() as db:
                return fn(db)

        return self.backoff.call(attempt)

    def read(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        """The rows of one query, read through an idle read connection (never waiting for a write)."""
        with self._full_is_exhaustion():
            try:
                with self._reader() as connection:
                    return connection.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode == sqlite3.SQLITE_FULL:  # a sort spilling to a full disk
                    raise
                raise StoreUnavailable(f"state store read failed: {exc}") from exc

    def close(self) -> None:
        """Close every connection (a later call opens them again); one being read through closes when done."""
        with self._lock:
            with self._readers_lock:
                for connection in self._idle_readers:
                    connection.close()
                self._idle_readers.clear()
                self._generation += 1
            if self._connection is not None:  # last: the last connection to close removes the -wal file
                self._connection.close()
                self._connection = None

    def has_table(self, name: str) -> bool:
        """Whether the file holds this table (a read-only file may predate it)."""
        return bool(self.read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))
