"""How records map to DynamoDB items and back, and the expressions that change them.

Pure functions, no requests: the key layout itself is documented in `table`. Attributes
that are None (or an empty ledger) are left out of an item, so sparse GSI keys stay sparse and a
PENDING file item stays small (listings read whole items, so every attribute costs read units).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import replace
from typing import Any

from ...domain.records import FileRecord, Ledger, Manifest
from ...domain.states import FileState, ManifestState
from .table import Item, av, encode_item, key

#: the states that carry the sparse waiting key: waiting for a run, or for a person (dead letters, rejections)
WAITING = (FileState.PENDING, FileState.FAILED, FileState.REJECTED, FileState.CHANGED)


def shard_of(identifier: str, shards: int) -> int:
    """A stable shard number (crc32, not `hash`: the same in every process)."""
    return zlib.crc32(identifier.encode()) % shards


def sort_key(at: float, identifier: str) -> str:
    """A sort key ordering by time, then id: fixed width, so string order is time order."""
    return f"{at:020.6f}#{identifier}"


# --------------------------------------------------------------------- files
def file_key(file_id: str) -> Item:
    """The primary key of a file item."""
    return key(f"F#{file_id}", "F")


def waiting_key(state: FileState, file_id: str, dataset: str, date: str, at: float, shards: int) -> dict[str, str]:
    """The sparse, sharded `waiting` GSI key of a PENDING, FAILED or REJECTED file."""
    return {"wpk": f"{state.value}#{dataset}#{date}#{shard_of(file_id, shards)}", "wsk": sort_key(at, file_id)}


def waiting_partitions(state: FileState, dataset: str, date: str, shards: int) -> list[str]:
    """Every `wpk` value of one (state, dataset, date): a listing queries them all."""
    return [f"{FileState(state).value}#{dataset}#{date}#{s}" for s in range(shards)]


def file_item(r: FileRecord, shards: int) -> Item:
    """A new file record as its item."""
    values: dict[str, object] = {
        "pk": f"F#{r.file_id}",
        "sk": "F",
        "file_id": r.file_id,
        "dataset": r.dataset,
        "uri": r.uri,
        "version": r.version,
        "size": r.size,
        "date": r.date,
        "arrived_at": r.arrived_at,
        "registered_at": r.registered_at,
        "state": r.state.value,
        "manifest_id": r.manifest_id,
        "attempts": r.attempts,
        "error": r.error,
        "updated_at": r.updated_at,
        "start_offset": r.start_offset or None,  # absent when 0 / 1: a PENDING item stays small
        "first_line": r.first_line if r.first_line != 1 else None,
        "changed_from": r.changed_from,
    }
    if r.ledger != Ledger():  # an empty ledger is read back from absent attributes
        values.update(ledger_values(r.ledger))
    if r.state in WAITING:
        values.update(waiting_key(r.state, r.file_id, r.dataset, r.date, r.registered_at, shards))
    return encode_item(values)


def ledger_values(ledger: Ledger) -> dict[str, object]:
    """A ledger as the file item's attributes."""
    return {
        "lines": ledger.lines,
        "blank": ledger.blank,
        "rows_written": ledger.rows_written,
        "rows_quarantined": ledger.rows_quarantined,
        "outputs": list(ledger.outputs),
        "rejection": ledger.rejection,
        "end_offset": ledger.end_offset,
        "digest": ledger.digest,
    }


def file_from(v: dict[str, Any]) -> FileRecord:
    """A file item (as a plain dict) back as its record."""
    start_offset, first_line = v.get("start_offset", 0), v.get("first_line", 1)
    ledger = Ledger(
        v.get("lines", 0),
        v.get("blank", 0),
        v.get("rows_written", 0),
        v.get("rows_quarantined", 0),
        tuple(v.get("outputs", ())),
        v.get("rejection"),
        end_offset=v.get("end_offset", 0),
        digest=v.get("digest"),
    )
    if ledger != Ledger():  # a ledger written by a conversion covers the record's part of the file
        ledger = replace(ledger, start_offset=start_offset, first_line=first_line)
    return FileRecord(
        file_id=v["file_id"],
        dataset=v["dataset"],
        uri=v["uri"],
        version=v["version"],
        size=v["size"],
        date=v["date"],
        arrived_at=v["arrived_at"],
        registered_at=v["registered_at"],
        state=FileState(v["state"]),
        manifest_id=v.get("manifest_id"),
        attempts=v.get("attempts", 0),
        ledger=ledger,
        error=v.get("error"),
        updated_at=v.get("updated_at", 0.0),
        start_offset=start_offset,
        first_line=first_line,
        changed_from=v.get("changed_from"),
    )


# --------------------------------------------------------------------- owners
def owner_key(owner: str) -> Item:
    """The primary key of an owner's record: a partition of its own, carrying no GSI key, so no
    query of files, manifests or dates can return it."""
    return key(f"O#{owner}", "O")


# --------------------------------------------------------------------- manifests
def manifest_key(manifest_id: str) -> Item:
    """The primary key of a manifest's meta item."""
    return key(f"M#{manifest_id}", "M")


def date_partition(dataset: str, date: str) -> str:
    """The `by_date` GSI partition of a (dataset, date)'s manifests."""
    return f"{dataset}#{date}"


def manifest_item(m: Manifest, *, inline: bool, shards: int) -> Item:
    """A manifest's meta item; `inline` holds its file ids too (small manifests only)."""
    values: dict[str, object] = {
        "pk": f"M#{m.manifest_id}",
        "sk": "M",
        "manifest_id": m.manifest_id,
        "dataset": m.dataset,
        "date": m.date,
        "state": m.state.value,
        "bytes": m.bytes,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "reason": m.reason,
        "runs": m.runs,
        "lease_owner": m.lease_owner,
        "lease_expires_at": m.lease_expires_at,
        "settled": m.settled,
        "outputs": list(m.outputs),
        "stats": json.dumps(m.stats),
        "error": m.error,
        "n_files": len(m.file_ids),
        "file_ids": list(m.file_ids) if inline else None,
        # the by_date key is never removed: `manifests_of` lists a date's manifests in every state
        "mdk": date_partition(m.dataset, m.date),
        "msk": sort_key(m.created_at, m.manifest_id),
    }
    if not m.settled:
        values.update({"lpk": f"LIVE#{shard_of(m.manifest_id, shards)}", "lsk": sort_key(m.created_at, m.manifest_id)})
    return encode_item(values)


def manifest_from(v: dict[str, Any], file_ids: list[str]) -> Manifest:
    """A manifest meta item (as a plain dict) and its file ids back as the manifest."""
    return Manifest(
        manifest_id=v["manifest_id"],
        dataset=v["dataset"],
        date=v["date"],
        state=ManifestState(v["state"]),
        file_ids=tuple(file_ids),
        bytes=v["bytes"],
        created_at=v["created_at"],
        updated_at=v["updated_at"],
        reason=v.get("reason", ""),
        runs=v.get("runs", 0),
        lease_owner=v.get("lease_owner"),
        lease_expires_at=v.get("lease_expires_at"),
        settled=bool(v.get("settled", False)),
        outputs=tuple(v.get("outputs", ())),
        stats=json.loads(v.get("stats", "{}")),
        error=v.get("error"),
    )


def manifest_value(name: str, value: object) -> object:
    """A manifest field's value as stored."""
    if name == "stats":
        return json.dumps(value)
    if isinstance(value, ManifestState):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


# --------------------------------------------------------------------- expressions
def add_item(item_key: Item, deltas: dict[str, int]) -> dict[str, Any] | None:
    """A transaction Update that ADDs the non-zero deltas to counters, or None when all are zero."""
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return None
    names = {f"#a{i}": k for i, k in enumerate(deltas)}
    return {
        "Update": {
            "Key": item_key,
            "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(deltas))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {f":a{i}": {"N": str(v)} for i, v in enumerate(deltas.values())},
        }
    }


def update_expression(sets: dict[str, object]) -> dict[str, Any]:
    """SET for values, REMOVE for None (absent attributes keep sparse keys sparse)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    set_parts, remove_parts = [], []
    for i, (name, value) in enumerate(sets.items()):
        names[f"#u{i}"] = name
        if value is None:
            remove_parts.append(f"#u{i}")
        else:
            values[f":u{i}"] = av(value)
            set_parts.append(f"#u{i} = :u{i}")
    expr = ("SET " + ", ".join(set_parts) if set_parts else "") + (
        " REMOVE " + ", ".join(remove_parts) if remove_parts else ""
    )
    return {"UpdateExpression": expr.strip(), "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
