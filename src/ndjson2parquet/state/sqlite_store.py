"""SQLite state store: the embedded default. One file, WAL, safe across threads and processes.

Partial indexes play the part of DynamoDB's sparse keys: only PENDING (or FAILED, or REJECTED) files are
in the waiting indexes and only unsettled manifests in the live index, so hot queries stay small.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ..backoff import Backoff
from ..config.settings import StorePolicy
from ..domain.errors import ConditionFailed, ConfigError, ResourceExhausted, StoreUnavailable
from ..domain.records import DateStatus, FileRecord, Ledger, Manifest, Page, SealRecord
from ..domain.states import FileState, ManifestState, file_transition
from .base import FileChange, StateStore, decode_seal, encode_seal

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

_FILE_COLUMNS = (
    "file_id, dataset, uri, version, size, date, arrived_at, registered_at, state, manifest_id, attempts,"
    " lines, blank, rows_written, rows_quarantined, outputs, rejection, error, updated_at,"
    " start_offset, first_line, changed_from, end_offset, digest"
)
_MANIFEST_JSON = {"file_ids", "outputs", "stats"}
T = TypeVar("T")
_FILE_STATES = {state.value: state for state in FileState}
_NO_LEDGER = Ledger()


class SqliteStore(StateStore):
    """State in one SQLite file (WAL mode): the embedded backend.

    ``read_only`` (status, ledger, verify): the file must already be a state database; it is opened
    with ``mode=ro`` and never created, migrated or written. When no writer is connected (no ``-wal``
    file beside it) it is opened ``immutable`` as well: SQLite then creates no ``-wal``/``-shm`` file
    (so it works on a read-only mount); a writer that starts meanwhile is not seen by this reader.
    """

    write_chunk = 5000

    def __init__(
        self,
        path: str | Path,
        policy: StorePolicy | None = None,
        backoff: Backoff | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        super().__init__(policy, backoff)
        self.path = Path(path)
        self.read_only = read_only
        if not self.path.parent.is_dir():
            raise ConfigError(f"state folder does not exist: {self.path.parent}")
        # One connection per store, shared by its threads under a lock: a connection per thread would
        # see its page cache emptied by every other thread's commit (WAL), and re-read the pages.
        self._lock = threading.RLock()
        self._connection: sqlite3.Connection | None = None
        self._expect_new = True  # whether the next registration batch is likely all new (see _insert_files)
        if read_only:
            self._check_state_file()
        else:
            try:
                self._db().executescript(_SCHEMA)  # executescript commits on its own: no _write() here
                if "seal" not in self._date_columns():  # a state file from before seal records
                    self._add_seal_column()
            except sqlite3.DatabaseError as exc:
                raise ConfigError(f"cannot use state file {self.path}: {exc}") from exc
        self._seal_column = "seal" if "seal" in self._date_columns() else "NULL"

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
            tables = {row[0] for row in self._db().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"cannot open state file {self.path}: {exc}") from exc
        if not {"files", "manifests", "dates", "schemas"} <= tables:
            raise ConfigError(f"cannot open state file {self.path}: not an ndjson2parquet state database")

    def _add_seal_column(self) -> None:
        try:
            self._db().execute("ALTER TABLE dates ADD COLUMN seal TEXT")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):  # another process added it first: fine
                raise

    def _date_columns(self) -> set[str]:
        return {row[1] for row in self._db().execute("PRAGMA table_info(dates)")}

    # ----------------------------------------------------------------- connection handling
    def _connect_read_only(self) -> sqlite3.Connection:
        # no -wal file: no writer is connected, so the file is read as it is (immutable: no -shm made)
        live_writer = os.path.exists(f"{self.path}-wal")
        query = "mode=ro" if live_writer else "mode=ro&immutable=1"
        uri = f"file:{urllib.parse.quote(str(self.path.resolve()))}?{query}"
        db = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA query_only=1")
        return db

    def _db(self) -> sqlite3.Connection:
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
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: the write lock is taken up front, so concurrent writers queue."""
        if self.read_only:
            raise ConfigError(f"state file {self.path} is open read-only")
        with self._lock, self._full_is_exhaustion():
            db = self._db()
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

    def _retrying_write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run fn in one write transaction, retried with backoff while the database is busy."""

        def attempt() -> T:
            with self._write() as db:
                return fn(db)

        return self.backoff.call(attempt)

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock, self._full_is_exhaustion():
            try:
                return self._db().execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode == sqlite3.SQLITE_FULL:  # a sort spilling to a full disk
                    raise
                raise StoreUnavailable(f"state store read failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    # ----------------------------------------------------------------- files
    def _insert_files(self, records: Sequence[FileRecord]) -> list[FileRecord]:
        # One executemany; then "how many rows changed" tells whether every record was new (a first
        # listing). If some were known already, that transaction is rolled back and the careful way
        # looks the ids up first to say which. The last outcome decides which way the next batch
        # tries first, so re-listing a known landing zone does not pay twice.
        rows = [
            (r.file_id, r.dataset, r.uri, r.version, r.size, r.date, r.arrived_at, r.registered_at, r.state.value,
             r.attempts, r.updated_at, r.start_offset, r.first_line, r.changed_from, r.error)
            for r in records
        ]  # fmt: skip
        unique = len({r.file_id for r in records}) == len(records)

        def optimistic(db: sqlite3.Connection) -> list[FileRecord]:
            before = db.total_changes
            db.executemany(_INSERT_FILE, rows)
            if db.total_changes - before != len(rows):
                raise _SomeLost
            _insert_dates(db, records)
            return list(records)

        def careful(db: sqlite3.Connection) -> list[FileRecord]:
            # under the IMMEDIATE write lock nobody else inserts, so "not there yet" is exact
            existing: set[str] = set()
            ids = list({r.file_id for r in records})
            for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                existing.update(
                    row[0] for row in db.execute(f"SELECT file_id FROM files WHERE file_id IN ({marks})", chunk)
                )
            added, added_rows = [], []
            for r, row in zip(records, rows, strict=True):
                if r.file_id not in existing:
                    existing.add(r.file_id)  # a duplicate later in the same batch is "seen"
                    added.append(r)
                    added_rows.append(row)
            before = db.total_changes
            db.executemany(_INSERT_FILE, added_rows)
            if db.total_changes - before != len(added):  # cannot happen under the write lock
                raise StoreUnavailable("concurrent insert under the write lock")
            _insert_dates(db, added)
            return added

        if unique and self._expect_new:
            try:
                return self._retrying_write(optimistic)
            except _SomeLost:
                pass
        added = self._retrying_write(careful)
        self._expect_new = len(added) == len(records)
        return added

    def _get_files(self, file_ids: Sequence[str]) -> list[FileRecord]:
        out: list[FileRecord] = []
        for start in range(0, len(file_ids), 500):  # SQLite's bound-parameter limit
            ids = list(file_ids[start : start + 500])
            marks = ",".join("?" * len(ids))
            out.extend(
                _file(r) for r in self._read(f"SELECT {_FILE_COLUMNS} FROM files WHERE file_id IN ({marks})", ids)
            )
        return out

    def _files_by_uri(self, uri: str) -> list[FileRecord]:
        return [_file(r) for r in self._read(f"SELECT {_FILE_COLUMNS} FROM files WHERE uri = ?", (uri,))]

    def _versions_of(self, uris: Sequence[str], listed: Mapping[str, str]) -> list[FileRecord]:
        out: list[FileRecord] = []
        for start in range(0, len(uris), 500):  # SQLite's bound-parameter limit
            chunk = list(uris[start : start + 500])
            marks = ",".join("?" * len(chunk))
            out.extend(_file(r) for r in self._read(f"SELECT {_FILE_COLUMNS} FROM files WHERE uri IN ({marks})", chunk))
        return out

    def _query_waiting(
        self, state: FileState, dataset: str, date: str, limit: int, cursor: str | None
    ) -> Page[FileRecord]:
        # The state is an enum value inlined as a literal: SQLite only uses a partial index when it
        # can prove the WHERE clause from the query text itself. Ties of registered_at go in rowid
        # (listing) order, so a manifest's rows are neighbours in the table: its claim and commit
        # touch few pages, and its files are read in folder order.
        params: list[object] = [dataset, date]
        after = ""
        if cursor:
            ts, rowid = cursor.split("|", 1)
            after = " AND (registered_at, rowid) > (?, ?)"
            params += [float(ts), int(rowid)]
        rows = self._read(
            f"SELECT {_FILE_COLUMNS}, rowid FROM files INDEXED BY files_{FileState(state).value.lower()}_fifo"
            f" WHERE state = '{FileState(state).value}' AND dataset = ? AND date = ?{after}"
            " ORDER BY registered_at, rowid LIMIT ?",
            [*params, limit + 1],
        )
        items = [_file(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, f"{items[-1].registered_at!r}|{rows[limit - 1][-1]}" if more else None)

    def _update_files(self, changes: Sequence[FileChange]) -> list[str]:
        # Optimistic first: the conditions go into the WHERE clause, one executemany per shape (same
        # columns set), and when every row changed nothing was lost. Otherwise that transaction is
        # rolled back and the careful way reads the current states first to name the lost ones.
        dumped: dict[tuple[str, ...], str] = {}  # most files of a manifest share their outputs
        shaped = [(change, *_file_sets(change, dumped)) for change in changes]

        def optimistic(db: sqlite3.Connection) -> list[str]:
            groups: dict[str, list[list[object]]] = {}
            for change, sets, params in shaped:
                condition = [change.file_id, change.expect_state.value, change.expect_manifest]
                groups.setdefault(sets, []).append([*params, *condition])
            before = db.total_changes
            for sets, rows in groups.items():
                db.executemany(f"UPDATE files SET {sets} WHERE file_id = ? AND state = ? AND manifest_id IS ?", rows)
            if db.total_changes - before != len(shaped):
                raise _SomeLost
            return []

        def careful(db: sqlite3.Connection) -> list[str]:
            current = {}
            ids = [c.file_id for c in changes]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT file_id, state, manifest_id FROM files WHERE file_id IN ({marks})"
                current.update({fid: (state, mid) for fid, state, mid in db.execute(sql, chunk)})
            lost, groups = [], {}
            for change, sets, params in shaped:
                if current.get(change.file_id) != (change.expect_state.value, change.expect_manifest):
                    lost.append(change.file_id)
                    continue
                groups.setdefault(sets, []).append([*params, change.file_id])
            for sets, rows in groups.items():
                db.executemany(f"UPDATE files SET {sets} WHERE file_id = ?", rows)
            return lost

        try:
            return self._retrying_write(optimistic)
        except _SomeLost:
            return self._retrying_write(careful)

    # ----------------------------------------------------------------- manifests
    def _create_manifest(self, manifest: Manifest) -> None:
        def write(db: sqlite3.Connection) -> None:
            ids = manifest.file_ids
            claimed = 0
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                claimed += db.execute(
                    f"UPDATE files SET state = 'CLAIMED', manifest_id = ?, updated_at = ?"
                    f" WHERE file_id IN ({marks}) AND state = 'PENDING'",
                    [manifest.manifest_id, manifest.created_at, *chunk],
                ).rowcount
            if claimed != len(ids):
                raise ConditionFailed(f"{len(ids) - claimed} file(s) of the claim are no longer PENDING")
            _insert_manifest(db, manifest)

        self._retrying_write(write)

    def _abandon_claim(self, manifest: Manifest) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE files SET state = 'PENDING', manifest_id = NULL WHERE manifest_id = ? AND state = 'CLAIMED'",
                (manifest.manifest_id,),
            )
            db.execute("DELETE FROM manifests WHERE manifest_id = ? AND state = 'CLAIMING'", (manifest.manifest_id,))

        self._retrying_write(write)

    def _get_manifest(self, manifest_id: str) -> Manifest | None:
        rows = self._read("SELECT * FROM manifests WHERE manifest_id = ?", (manifest_id,))
        return _manifest(rows[0]) if rows else None

    def _update_manifest(
        self,
        manifest_id: str,
        expect_states: frozenset[ManifestState],
        expect_owner: str | None,
        changes: dict[str, object],
    ) -> Manifest:
        return self._retrying_write(
            lambda db: _conditional_manifest_update(db, manifest_id, expect_states, expect_owner, changes)
        )

    def _commit(
        self, manifest: Manifest, owner: str, ledgers: dict[str, Ledger], at: float, **changes: object
    ) -> Manifest:
        # One transaction: the manifest's SUCCEEDED (settled at once) and each file's ledger and final
        # state. All or nothing, so no half-committed manifest is ever left for recovery to settle.
        sources, target = self._allowed(manifest, "succeed")
        expires = self._ttl(at)
        manifest_changes = {
            "state": target,
            "lease_owner": None,
            "lease_expires_at": None,
            "settled": True,
            "updated_at": at,
            "expires_at": expires,
            **changes,
        }
        dumped: dict[tuple[str, ...], str] = {}
        claimed = FileState.CLAIMED.value
        rows = []
        for file_id in manifest.file_ids:
            ledger = ledgers[file_id]
            state = file_transition("reject" if ledger.rejection else "complete")[1].value
            rows.append((*_ledger_values(ledger, dumped), state, at, expires, file_id, claimed, manifest.manifest_id))

        def write(db: sqlite3.Connection) -> Manifest:
            committed = _conditional_manifest_update(db, manifest.manifest_id, sources, owner, manifest_changes)
            before = db.total_changes
            db.executemany(
                f"UPDATE files SET {_LEDGER_SETS}, state = ?, updated_at = ?, expires_at = ?"
                " WHERE file_id = ? AND state = ? AND manifest_id = ?",
                rows,
            )
            if db.total_changes - before != len(rows):
                raise ConditionFailed(f"{manifest.manifest_id}: not all of its files are still CLAIMED by it")
            return committed

        return self._retrying_write(write)

    def _known_manifests(self, manifest_ids: Sequence[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(manifest_ids), 500):  # SQLite's bound-parameter limit
            ids = list(manifest_ids[start : start + 500])
            marks = ",".join("?" * len(ids))
            known.update(
                r[0] for r in self._read(f"SELECT manifest_id FROM manifests WHERE manifest_id IN ({marks})", ids)
            )
        return known

    def _import_files(self, records: Sequence[FileRecord]) -> list[FileRecord]:
        dumped: dict[tuple[str, ...], str] = {}

        def write(db: sqlite3.Connection) -> list[FileRecord]:
            added = []
            for r in {r.file_id: r for r in records}.values():
                ledger = _ledger_values(r.ledger, dumped)  # in _FILE_COLUMNS order: its first six, then the rest
                row = (r.file_id, r.dataset, r.uri, r.version, r.size, r.date, r.arrived_at, r.registered_at,
                       r.state.value, r.manifest_id, r.attempts, *ledger[:6], r.error, r.updated_at,
                       r.start_offset, r.first_line, r.changed_from, *ledger[6:])  # fmt: skip
                if db.execute(_IMPORT_FILE, row).rowcount:
                    added.append(r)
            _insert_dates(db, added)
            return added

        return self._retrying_write(write)

    def _put_manifest(self, manifest: Manifest) -> None:
        def write(db: sqlite3.Connection) -> None:
            try:
                _insert_manifest(db, manifest)
            except sqlite3.IntegrityError:
                raise ConditionFailed(f"manifest {manifest.manifest_id} exists already") from None

        self._retrying_write(write)

    def _query_live_manifests(self, limit: int, cursor: str | None) -> Page[Manifest]:
        return self._manifest_page("manifests INDEXED BY manifests_live", "settled = 0", [], limit, cursor)

    def _query_manifests(self, dataset: str, date: str, limit: int, cursor: str | None) -> Page[Manifest]:
        return self._manifest_page("manifests", "dataset = ? AND date = ?", [dataset, date], limit, cursor)

    def _manifest_page(
        self, source: str, where: str, params: list[object], limit: int, cursor: str | None
    ) -> Page[Manifest]:
        """One keyset page of manifests, oldest first; the cursor is the last (created_at, id)."""
        if cursor:
            ts, mid = cursor.split("|", 1)
            where += " AND (created_at, manifest_id) > (?, ?)"
            params = [*params, float(ts), mid]
        rows = self._read(
            f"SELECT * FROM {source} WHERE {where} ORDER BY created_at, manifest_id LIMIT ?", [*params, limit + 1]
        )
        items = [_manifest(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, f"{items[-1].created_at!r}|{items[-1].manifest_id}" if more else None)

    # ----------------------------------------------------------------- counts, dates, schema
    def _counts(self) -> tuple[dict[str, int], dict[str, int]]:
        files = dict(self._read("SELECT state, count(*) FROM files GROUP BY state"))
        manifests = dict(self._read("SELECT state, count(*) FROM manifests GROUP BY state"))
        return files, manifests

    def _get_date(self, dataset: str, date: str) -> DateStatus | None:
        rows = self._read(
            f"SELECT dataset, date, sealed_at, late_files, {self._seal_column} FROM dates"
            " WHERE dataset = ? AND date = ?",
            (dataset, date),
        )
        return self._with_counts(rows)[0] if rows else None

    def _query_dates(self, dataset: str | None, limit: int, cursor: str | None) -> Page[DateStatus]:
        where, params = [], []
        if dataset is not None:
            where.append("dataset = ?")
            params.append(dataset)
        if cursor:
            where.append("(dataset, date) > (?, ?)")
            params += cursor.split("\x00", 1)
        sql = f"SELECT dataset, date, sealed_at, late_files, {self._seal_column} FROM dates"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._read(sql + " ORDER BY dataset, date LIMIT ?", [*params, limit + 1])
        items = self._with_counts(rows[:limit])
        more = len(rows) > limit
        return Page(items, f"{items[-1].dataset}\x00{items[-1].date}" if more else None)

    def _with_counts(self, rows: list[sqlite3.Row]) -> list[DateStatus]:
        out = []
        for dataset, date, sealed_at, late, seal in rows:
            counts = dict(
                self._read(
                    "SELECT state, count(*) FROM files WHERE dataset = ? AND date = ? GROUP BY state", (dataset, date)
                )
            )
            out.append(DateStatus(dataset, date, counts, sealed_at, late, decode_seal(seal)))
        return out

    def _seal_date(
        self, dataset: str, date: str, sealed_at: float, seal: SealRecord, expect_files: Mapping[str, int]
    ) -> None:
        def write(db: sqlite3.Connection) -> None:
            # under the IMMEDIATE write lock no file is registered or moved: the counts are exact
            counts = dict(
                db.execute(
                    "SELECT state, count(*) FROM files WHERE dataset = ? AND date = ? GROUP BY state", (dataset, date)
                ).fetchall()
            )
            if counts != dict(expect_files):
                raise ConditionFailed(f"{dataset}/{date} changed while it was being sealed: {counts}")
            cur = db.execute(
                "UPDATE dates SET sealed_at = ?, seal = ? WHERE dataset = ? AND date = ?",
                (sealed_at, encode_seal(seal), dataset, date),
            )
            if not cur.rowcount:
                raise ConditionFailed(f"no date {dataset}/{date}")

        self._retrying_write(write)

    def _open_date(self, dataset: str, date: str, *, late: bool) -> bool:
        cur = self._retrying_write(
            lambda db: db.execute(
                "UPDATE dates SET sealed_at = NULL, seal = NULL, late_files = late_files + ?"
                " WHERE dataset = ? AND date = ? AND sealed_at IS NOT NULL",
                (int(late), dataset, date),
            )
        )
        return bool(cur.rowcount)

    def _get_schema(self, dataset: str) -> tuple[int, str] | None:
        rows = self._read("SELECT version, schema FROM schemas WHERE dataset = ?", (dataset,))
        return (rows[0][0], rows[0][1]) if rows else None

    def _put_schema(self, dataset: str, schema_json: str, expected_version: int) -> None:
        def write(db: sqlite3.Connection) -> None:
            if expected_version == 0:
                cur = db.execute("INSERT OR IGNORE INTO schemas VALUES (?, 1, ?)", (dataset, schema_json))
            else:
                cur = db.execute(
                    "UPDATE schemas SET version = version + 1, schema = ? WHERE dataset = ? AND version = ?",
                    (schema_json, dataset, expected_version),
                )
            if not cur.rowcount:
                raise ConditionFailed(f"schema of {dataset} moved past version {expected_version}")

        self._retrying_write(write)

    # ----------------------------------------------------------------- owners
    def _put_owner(self, owner: str, alive_until: float, expires_at: int) -> None:
        # a dead owner's row stays until it is retired or announced again: the file needs no TTL
        self._retrying_write(
            lambda db: db.execute(
                "INSERT INTO owners (owner, alive_until) VALUES (?, ?)"
                " ON CONFLICT (owner) DO UPDATE SET alive_until = excluded.alive_until",
                (owner, alive_until),
            )
        )

    def _delete_owner(self, owner: str) -> None:
        self._retrying_write(lambda db: db.execute("DELETE FROM owners WHERE owner = ?", (owner,)))

    def _get_owner(self, owner: str) -> float | None:
        if self.read_only and not self._has_owners_table():
            return None  # a state file from before owner records: nobody announced
        rows = self._read("SELECT alive_until FROM owners WHERE owner = ?", (owner,))
        return float(rows[0][0]) if rows else None

    def _has_owners_table(self) -> bool:
        return bool(self._read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'owners'"))


# --------------------------------------------------------------------- row mapping
def _file(row: Sequence[object]) -> FileRecord:
    (
        file_id,
        dataset,
        uri,
        version,
        size,
        date,
        arrived_at,
        registered_at,
        state,
        manifest_id,
        attempts,
        lines,
        blank,
        rows_written,
        rows_quarantined,
        outputs,
        rejection,
        error,
        updated_at,
        start_offset,
        first_line,
        changed_from,
        end_offset,
        digest,
        *_,  # a query may add the rowid
    ) = row
    empty = outputs == "[]" and rejection is None and not (lines or blank or rows_written or rows_quarantined)
    return FileRecord(
        file_id=file_id,
        dataset=dataset,
        uri=uri,
        version=version,
        size=size,
        date=date,  # type: ignore[arg-type]
        arrived_at=arrived_at,
        registered_at=registered_at,
        state=_FILE_STATES[state],  # type: ignore[index]
        manifest_id=manifest_id,
        attempts=attempts,  # type: ignore[arg-type]
        ledger=_NO_LEDGER
        if empty and not end_offset and digest is None
        else Ledger(
            lines,  # type: ignore[arg-type]
            blank,  # type: ignore[arg-type]
            rows_written,  # type: ignore[arg-type]
            rows_quarantined,  # type: ignore[arg-type]
            tuple(json.loads(outputs)),  # type: ignore[arg-type]
            rejection,  # type: ignore[arg-type]
            start_offset,  # type: ignore[arg-type]
            end_offset,  # type: ignore[arg-type]
            first_line,  # type: ignore[arg-type]
            digest,  # type: ignore[arg-type]
        ),
        error=error,
        updated_at=updated_at,  # type: ignore[arg-type]
        start_offset=start_offset,  # type: ignore[arg-type]
        first_line=first_line,  # type: ignore[arg-type]
        changed_from=changed_from,  # type: ignore[arg-type]
    )


def _conditional_manifest_update(
    db: sqlite3.Connection,
    manifest_id: str,
    expect_states: frozenset[ManifestState],
    expect_owner: str | None,
    changes: dict[str, object],
) -> Manifest:
    """Apply ``changes`` if the manifest is in ``expect_states`` (held by ``expect_owner``); the new row."""
    sets, params = [], []
    for name, value in changes.items():
        sets.append(f"{name} = ?")
        params.append(_manifest_value(name, value))
    states = sorted(s.value for s in expect_states)
    where = f"manifest_id = ? AND state IN ({','.join('?' * len(states))})"
    params += [manifest_id, *states]
    if expect_owner is not None:
        where += " AND lease_owner = ?"
        params.append(expect_owner)
    if not db.execute(f"UPDATE manifests SET {', '.join(sets)} WHERE {where}", params).rowcount:
        raise ConditionFailed(f"manifest {manifest_id} is not in {states} held by {expect_owner}")
    return _manifest(db.execute("SELECT * FROM manifests WHERE manifest_id = ?", (manifest_id,)).fetchone())


def _insert_manifest(db: sqlite3.Connection, manifest: Manifest) -> None:
    """Insert a manifest row as it is (IntegrityError if its id exists)."""
    db.execute(
        "INSERT INTO manifests (manifest_id, dataset, date, state, file_ids, bytes, created_at, updated_at,"
        " reason, runs, lease_owner, lease_expires_at, settled, outputs, stats, error)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            manifest.manifest_id,
            manifest.dataset,
            manifest.date,
            manifest.state.value,
            json.dumps(manifest.file_ids),
            manifest.bytes,
            manifest.created_at,
            manifest.updated_at,
            manifest.reason,
            manifest.runs,
            manifest.lease_owner,
            manifest.lease_expires_at,
            int(manifest.settled),
            json.dumps(manifest.outputs),
            json.dumps(manifest.stats),
            manifest.error,
        ),
    )


_LEDGER_SETS = ", ".join(
    f"{name} = ?"
    for name in ("lines", "blank", "rows_written", "rows_quarantined", "outputs", "rejection", "end_offset", "digest")
)


def _ledger_values(ledger: Ledger, dumped: dict[tuple[str, ...], str]) -> tuple[object, ...]:
    """The values of ``_LEDGER_SETS``; ``dumped`` caches the outputs' JSON (a manifest's files share it)."""
    outputs = dumped.get(ledger.outputs) or dumped.setdefault(ledger.outputs, json.dumps(ledger.outputs))
    return (
        ledger.lines,
        ledger.blank,
        ledger.rows_written,
        ledger.rows_quarantined,
        outputs,
        ledger.rejection,
        ledger.end_offset,
        ledger.digest,
    )


_INSERT_FILE = (
    "INSERT OR IGNORE INTO files (file_id, dataset, uri, version, size, date, arrived_at, registered_at, state,"
    " attempts, updated_at, start_offset, first_line, changed_from, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)

_IMPORT_FILE = f"INSERT OR IGNORE INTO files ({_FILE_COLUMNS}) VALUES ({','.join('?' * len(_FILE_COLUMNS.split(',')))})"


def _insert_dates(db: sqlite3.Connection, records: Sequence[FileRecord]) -> None:
    dates = sorted({(r.dataset, r.date) for r in records})
    db.executemany("INSERT OR IGNORE INTO dates (dataset, date) VALUES (?, ?)", dates)


class _SomeLost(Exception):
    """An optimistic batch of writes met a row it did not expect: roll it back, go carefully."""


def _file_sets(change: FileChange, dumped: dict[tuple[str, ...], str]) -> tuple[str, list[object]]:
    sets, params = [], []
    if change.state is not None:
        sets.append("state = ?")
        params.append(change.state.value)
    for name, value in change.set_fields.items():
        if name == "ledger":
            assert isinstance(value, Ledger)
            sets.append(_LEDGER_SETS)
            params += _ledger_values(value, dumped)
        else:
            sets.append(f"{name} = ?")
            params.append(value)
    return ", ".join(sets), params


def _manifest_value(name: str, value: object) -> object:
    if name in _MANIFEST_JSON:
        return json.dumps(value)
    if name == "settled":
        return int(bool(value))
    if isinstance(value, ManifestState):
        return value.value
    return value


def _manifest(row: sqlite3.Row) -> Manifest:
    (
        manifest_id,
        dataset,
        date,
        state,
        file_ids,
        size,
        created_at,
        updated_at,
        reason,
        runs,
        lease_owner,
        lease_expires_at,
        settled,
        outputs,
        stats,
        error,
        _expires_at,
    ) = row
    return Manifest(
        manifest_id=manifest_id,
        dataset=dataset,
        date=date,
        state=ManifestState(state),
        file_ids=tuple(json.loads(file_ids)),
        bytes=size,
        created_at=created_at,
        updated_at=updated_at,
        reason=reason,
        runs=runs,
        lease_owner=lease_owner,
        lease_expires_at=lease_expires_at,
        settled=bool(settled),
        outputs=tuple(json.loads(outputs)),
        stats=json.loads(stats),
        error=error,
    )
