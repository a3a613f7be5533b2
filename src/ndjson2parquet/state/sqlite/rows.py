"""Rows ↔ records for the SQLite store, and the SQL that maps typed change records onto columns."""

from __future__ import annotations

import functools
import json
import operator
import sqlite3
from collections.abc import Sequence

from ...domain.errors import ConditionFailed
from ...domain.records import FileRecord, Ledger, Manifest
from ...domain.states import FileState, ManifestState
from ..changes import FILE_FIELDS, KEEP, FileChange, ManifestChange
from .bulk import execute_each

_FILE_COLUMNS = (
    "file_id, dataset, uri, version, size, date, arrived_at, registered_at, state, manifest_id, attempts,"
    " lines, blank, rows_written, rows_quarantined, outputs, rejection, error, updated_at,"
    " start_offset, first_line, changed_from, end_offset, digest"
)
_MANIFEST_JSON = {"file_ids", "outputs", "stats"}
_FILE_STATES = {state.value: state for state in FileState}
_NO_LEDGER = Ledger()


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
    change: ManifestChange,
) -> Manifest:
    """Apply ``change`` if the manifest is in ``expect_states`` (held by ``expect_owner``); the new row."""
    sets, params = [], []
    for name, value in change.values().items():
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
    execute_each(db, "INSERT OR IGNORE INTO dates (dataset, date) VALUES (?, ?)", dates)


class SomeLost(Exception):
    """An optimistic batch of writes met a row it did not expect: roll it back, go carefully."""


def _file_sets(change: FileChange, dumped: dict[tuple[str, ...], str]) -> tuple[str, list[object]]:
    """The SET clause of a file change and its values (a commit maps 10,000 changes of one shape: the
    clause and which fields to read are worked out once per shape)."""
    values = _FIELD_VALUES(change)
    sets, picks = _file_shape(change.state is not None, tuple([value is KEEP for value in values]))
    params: list[object] = [change.state] if change.state is not None else []  # a StrEnum binds as its text
    for index in picks:
        if index == _LEDGER_INDEX:
            params += _ledger_values(values[index], dumped)
        else:
            params.append(values[index])
    return sets, params


_FIELD_VALUES = operator.attrgetter(*FILE_FIELDS)
_LEDGER_INDEX = FILE_FIELDS.index("ledger")


@functools.cache
def _file_shape(moves: bool, kept: tuple[bool, ...]) -> tuple[str, tuple[int, ...]]:
    """The SET clause of changes that set the state (``moves``) and the fields not ``kept``, and the
    indexes of those fields in FILE_FIELDS."""
    picks = tuple(i for i, keep in enumerate(kept) if not keep)
    sets = ["state = ?"] if moves else []
    sets += [_LEDGER_SETS if i == _LEDGER_INDEX else f"{FILE_FIELDS[i]} = ?" for i in picks]
    return ", ".join(sets), picks


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
