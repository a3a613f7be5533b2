"""SQLite state store: the embedded default. One file, WAL, safe across threads and processes.

The primitives of `StateStore` as SQL over one `SqliteDatabase`; rows and change records are mapped
in `rows`. Nothing here decides a rule: it writes what the change records say, conditionally.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...backoff import Backoff
from ...config.settings import StorePolicy
from ...domain.errors import ConditionFailed, StoreUnavailable
from ...domain.records import DateStatus, FileRecord, Manifest, Page, SealRecord
from ...domain.states import FileState, ManifestState
from ..changes import FileChange, ManifestChange
from ..codec import decode_seal, encode_seal
from ..rules import release_claim_change
from ..store import StateStore
from .bulk import execute_each, select_many
from .database import SqliteDatabase
from .rows import (
    _FILE_COLUMNS,
    _IMPORT_FILE,
    _INSERT_FILE,
    SomeLost,
    _conditional_manifest_update,
    _file,
    _file_sets,
    _insert_dates,
    _insert_manifest,
    _ledger_values,
    _manifest,
)

_FILE_COLUMN_NAMES = tuple(name.strip() for name in _FILE_COLUMNS.split(","))
_FILE_REALS = frozenset({"arrived_at", "registered_at", "updated_at"})
_FIFO_ORDER = operator.itemgetter(_FILE_COLUMN_NAMES.index("registered_at"), len(_FILE_COLUMN_NAMES))


class SqliteStore(StateStore):
    """State in one SQLite file (WAL mode): the embedded backend (see `SqliteDatabase`, ``read_only``)."""

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
        self.db = SqliteDatabase(path, self.backoff, read_only=read_only)
        self.path = self.db.path
        self.read_only = read_only
        self._seal_column = self.db.seal_column
        self._expect_new = True  # whether the next registration batch is likely all new (see _insert_files)

    def _retrying_write(self, fn: Any) -> Any:
        return self.db.retrying_write(fn)

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        return self.db.read(sql, params)

    def close(self) -> None:
        """Close the connection (a later call opens it again)."""
        self.db.close()

    # ----------------------------------------------------------------- files
    def _insert_files(self, records: Sequence[FileRecord]) -> list[FileRecord]:
        # One statement; then "how many rows changed" tells whether every record was new (a first
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
            execute_each(db, _INSERT_FILE, rows)
            if db.total_changes - before != len(rows):
                raise SomeLost
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
            execute_each(db, _INSERT_FILE, added_rows)
            if db.total_changes - before != len(added):  # cannot happen under the write lock
                raise StoreUnavailable("concurrent insert under the write lock")
            _insert_dates(db, added)
            return added

        if unique and self._expect_new:
            try:
                return self._retrying_write(optimistic)
            except SomeLost:
                pass
        added = self._retrying_write(careful)
        self._expect_new = len(added) == len(records)
        return added

    def _select_files(self, rest: str, params: Sequence[object], *, rowid: bool = False) -> list[list[object]]:
        """Rows of files (``SELECT <file columns> rest``) read in one step (see `bulk`); ``rowid`` adds it last."""
        return select_many(self._read, _FILE_COLUMN_NAMES + (("rowid",) if rowid else ()), _FILE_REALS, rest, params)

    def _get_files(self, file_ids: Sequence[str]) -> list[FileRecord]:
        out: list[FileRecord] = []
        for start in range(0, len(file_ids), 500):  # SQLite's bound-parameter limit
            ids = list(file_ids[start : start + 500])
            marks = ",".join("?" * len(ids))
            out.extend(_file(r) for r in self._select_files(f"FROM files WHERE file_id IN ({marks})", ids))
        return out

    def _files_by_uri(self, uri: str) -> list[FileRecord]:
        return [_file(r) for r in self._select_files("FROM files WHERE uri = ?", (uri,))]

    def _versions_of(self, uris: Sequence[str], listed: Mapping[str, str]) -> list[FileRecord]:
        out: list[FileRecord] = []
        for start in range(0, len(uris), 500):  # SQLite's bound-parameter limit
            chunk = list(uris[start : start + 500])
            marks = ",".join("?" * len(chunk))
            out.extend(_file(r) for r in self._select_files(f"FROM files WHERE uri IN ({marks})", chunk))
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
        rows = self._select_files(
            f"FROM files INDEXED BY files_{FileState(state).value.lower()}_fifo"
            f" WHERE state = '{FileState(state).value}' AND dataset = ? AND date = ?{after}"
            " ORDER BY registered_at, rowid LIMIT ?",
            [*params, limit + 1],
            rowid=True,
        )
        rows.sort(key=_FIFO_ORDER)  # the page's order, which its one-value read does not promise
        items = [_file(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, f"{items[-1].registered_at!r}|{rows[limit - 1][-1]}" if more else None)

    def _update_files(self, changes: Sequence[FileChange]) -> list[str]:
        # Optimistic first: the conditions go into the WHERE clause, one statement per shape (same
        # columns set), and when every row changed nothing was lost. Otherwise that transaction is
        # rolled back and the careful way reads the current states first to name the lost ones.
        dumped: dict[tuple[str, ...], str] = {}  # most files of a manifest share their outputs
        shaped = [(change, *_file_sets(change, dumped)) for change in changes]

        def optimistic(db: sqlite3.Connection) -> list[str]:
            groups = _grouped(changes, shaped)
            before = db.total_changes
            for sets, rows in groups.items():
                execute_each(db, f"UPDATE files SET {sets} WHERE file_id = ? AND state = ? AND manifest_id IS ?", rows)
            if db.total_changes - before != len(shaped):
                raise SomeLost
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
                execute_each(db, f"UPDATE files SET {sets} WHERE file_id = ?", rows)
            return lost

        try:
            return self._retrying_write(optimistic)
        except SomeLost:
            return self._retrying_write(careful)

    # ----------------------------------------------------------------- manifests
    def _create_manifest(self, manifest: Manifest) -> None:
        def write(db: sqlite3.Connection) -> None:
            ids = manifest.file_ids
            before = db.total_changes
            execute_each(
                db,
                "UPDATE files SET state = 'CLAIMED', manifest_id = ?, updated_at = ?"
                " WHERE file_id = ? AND state = 'PENDING'",
                [(manifest.manifest_id, manifest.created_at, file_id) for file_id in ids],
            )
            claimed = db.total_changes - before
            if claimed != len(ids):
                raise ConditionFailed(f"{len(ids) - claimed} file(s) of the claim are no longer PENDING")
            _insert_manifest(db, manifest)

        self._retrying_write(write)

    def _abandon_claim(self, manifest: Manifest) -> None:
        def write(db: sqlite3.Connection) -> None:
            # the files it holds are those that name it (under the write lock nothing else moves them)
            held = db.execute("SELECT file_id FROM files WHERE manifest_id = ?", (manifest.manifest_id,)).fetchall()
            groups = _grouped([release_claim_change(fid, manifest.manifest_id) for (fid,) in held])
            for sets, rows in groups.items():
                execute_each(db, f"UPDATE files SET {sets} WHERE file_id = ? AND state = ? AND manifest_id IS ?", rows)
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
        change: ManifestChange,
    ) -> Manifest:
        return self._retrying_write(
            lambda db: _conditional_manifest_update(db, manifest_id, expect_states, expect_owner, change)
        )

    def _commit_atomically(
        self,
        manifest_id: str,
        expect_states: frozenset[ManifestState],
        owner: str,
        change: ManifestChange,
        files: Sequence[FileChange],
    ) -> Manifest:
        # One transaction: the manifest's change and every file's, all or nothing, so no half-committed
        # manifest is ever left for recovery to settle.
        groups = _grouped(files)

        def write(db: sqlite3.Connection) -> Manifest:
            committed = _conditional_manifest_update(db, manifest_id, expect_states, owner, change)
            before = db.total_changes
            for sets, rows in groups.items():
                execute_each(db, f"UPDATE files SET {sets} WHERE file_id = ? AND state = ? AND manifest_id IS ?", rows)
            if db.total_changes - before != len(files):
                raise ConditionFailed(f"{manifest_id}: not all of its files are still as the commit expects")
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
        if self.read_only and not self.db.has_table("owners"):
            return None  # a state file from before owner records: nobody announced
        rows = self._read("SELECT alive_until FROM owners WHERE owner = ?", (owner,))
        return float(rows[0][0]) if rows else None


def _grouped(
    changes: Sequence[FileChange], shaped: list[tuple[FileChange, str, list[object]]] | None = None
) -> dict[str, list[list[object]]]:
    """Conditional updates grouped by the columns they set (one statement per shape): each row is
    the values, then the condition (file_id, expected state, expected manifest)."""
    if shaped is None:
        dumped: dict[tuple[str, ...], str] = {}  # most files of a manifest share their outputs
        shaped = [(change, *_file_sets(change, dumped)) for change in changes]
    groups: dict[str, list[list[object]]] = {}
    for change, sets, params in shaped:
        condition = [change.file_id, change.expect_state, change.expect_manifest]  # StrEnum: binds as its text
        groups.setdefault(sets, []).append([*params, *condition])
    return groups
