"""File items of the DynamoDB store: registration, reads, listings and conditional state changes.

Every state change of a file is one conditional Update inside a transaction that also adds to the
date's and the global counters (`writes`), so counts stay exact without scans. A uri's index item
lists its versions, so "every version of this object" is one batched read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...config.settings import StorePolicy
from ...domain.records import FileRecord, Ledger, Page
from ...domain.states import FileState
from ..changes import FileChange
from .codec import (
    WAITING,
    file_from,
    file_item,
    file_key,
    ledger_values,
    update_expression,
    waiting_key,
    waiting_partitions,
)
from .dates import DateItems
from .listings import ShardedListings
from .requests import DynamoDbRequests
from .table import WAITING_INDEX, key, plain, py
from .writes import FileOp, TransactionalWriter

_URI_INDEX = "U"  # sort key of a uri's index item: the ids of its versions (`ids`) and the latest (`latest`)


def _index_item(r: FileRecord) -> dict[str, Any]:
    """A new uri's index item, holding its first version. Conditional: if another registration made it
    meanwhile, this file's write is lost and the next listing registers it (as a known uri)."""
    item = {"pk": {"S": f"U#{r.uri}"}, "sk": {"S": _URI_INDEX}, "ids": {"SS": [r.file_id]}, "latest": {"S": r.file_id}}
    return {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def _index_update(r: FileRecord) -> dict[str, Any]:
    """The update adding a version to its uri's index item (a set: adding twice is harmless)."""
    return {
        "Update": {
            "Key": key(f"U#{r.uri}", _URI_INDEX),
            "UpdateExpression": "ADD #ids :ids SET #latest = :id",
            "ExpressionAttributeNames": {"#ids": "ids", "#latest": "latest"},
            "ExpressionAttributeValues": {":ids": {"SS": [r.file_id]}, ":id": {"S": r.file_id}},
        }
    }


def _rounds(records: Sequence[FileRecord]) -> list[list[FileRecord]]:
    """Records split so that a round holds one version of a uri at most, oldest first: a transaction
    may not touch one item (the uri's index) twice, and the last round leaves the latest version."""
    rounds: list[list[FileRecord]] = []
    seen: dict[str, int] = {}
    for r in sorted(records, key=lambda r: r.registered_at):
        n = seen[r.uri] = seen.get(r.uri, -1) + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(r)
    return rounds


class FileItems:
    """File records as items, read and changed through the request runner and the transaction writer."""

    def __init__(
        self,
        requests: DynamoDbRequests,
        writer: TransactionalWriter,
        listings: ShardedListings,
        dates: DateItems,
        policy: StorePolicy,
    ) -> None:
        self.requests = requests
        self.writer = writer
        self.listings = listings
        self.dates = dates
        self.policy = policy

    def insert(self, records: Sequence[FileRecord]) -> list[FileRecord]:
        """Insert each record unless its file_id exists (counted in its date); those inserted."""
        unique = list({r.file_id: r for r in reversed(records)}.values())[::-1]
        # a consistent BatchGet is far cheaper than a cancelled transaction for re-delivered events
        existing = {py(i["pk"])[2:] for i in self.requests.batch_get([file_key(r.file_id) for r in unique], ["pk"])}
        todo = [r for r in unique if r.file_id not in existing]
        for dataset, date in sorted({(r.dataset, r.date) for r in todo} - self.dates.known):
            self.dates.register(dataset, date)
        shards = self.policy.pending_shards
        # a uri's first version writes its index item whole (a Put: cheaper than an update expression)
        uris = dict.fromkeys(r.uri for r in todo)
        indexed = {
            py(i["pk"])[2:] for i in self.requests.batch_get([key(f"U#{uri}", _URI_INDEX) for uri in uris], ["pk"])
        }
        lost: set[str] = set()
        for round_ in _rounds(todo):
            ops = [
                FileOp(
                    r.file_id,
                    [
                        {"Put": {"Item": file_item(r, shards), "ConditionExpression": "attribute_not_exists(pk)"}},
                        _index_item(r) if r.uri not in indexed else _index_update(r),
                    ],
                    (r.dataset, r.date),
                    {r.state.value: 1},
                )
                for r in round_
            ]
            lost |= self.writer.run_ops(ops)
            indexed.update(r.uri for r in round_)
        return [r for r in todo if r.file_id not in lost]

    def import_finished(self, records: Sequence[FileRecord]) -> list[FileRecord]:
        """Insert finished records as they are (state, manifest, ledger); their counters follow their state."""
        # a file item carries its state, manifest and ledger, and its counters follow its state
        return self.insert(records)

    def get(self, file_ids: Sequence[str]) -> list[FileRecord]:
        """The file records among these ids that exist (consistent reads)."""
        items = self.requests.batch_get([file_key(fid) for fid in dict.fromkeys(file_ids)])
        return [file_from(plain(i)) for i in items]

    def by_uri(self, uri: str) -> list[FileRecord]:
        """Every version registered under one uri (through its index item)."""
        (index,) = self.requests.batch_get([key(f"U#{uri}", _URI_INDEX)], ["ids"]) or [{}]
        return self.get(sorted(py(index["ids"]))) if "ids" in index else []

    def versions_of(self, uris: Sequence[str], listed: Mapping[str, str]) -> list[FileRecord]:
        """Every version of these uris, or only the listed one when it is a uri's latest."""
        # one consistent BatchGet of the uris' index items (100 a request): a uri never seen costs
        # nothing more; one listed at its latest version, a read of that version; others, of all theirs
        index = self.requests.batch_get(
            [key(f"U#{uri}", _URI_INDEX) for uri in dict.fromkeys(uris)], ["pk", "ids", "latest"]
        )
        wanted: list[str] = []
        for item in index:
            uri, latest = py(item["pk"])[2:], py(item["latest"])
            wanted += [latest] if listed.get(uri) == latest else sorted(py(item["ids"]))
        return self.get(wanted)

    def waiting(self, state: FileState, dataset: str, date: str, limit: int, cursor: str | None) -> Page[FileRecord]:
        """One merged page of a (state, dataset, date)'s waiting files, oldest registration first."""
        partitions = waiting_partitions(state, dataset, date, self.policy.pending_shards)
        items, next_cursor = self.listings.merged_page(WAITING_INDEX, "wpk", "wsk", partitions, limit, cursor)
        return Page([file_from(plain(i)) for i in items], next_cursor)

    def update(self, changes: Sequence[FileChange]) -> list[str]:
        """Apply each file change whose condition holds (with its counters); the ids whose condition failed."""
        moving = [c.file_id for c in changes if c.moves]
        # dataset, date and registered_at never change: reading them first is race-free
        meta = {
            py(i["file_id"]): plain(i)
            for i in self.requests.batch_get(
                [file_key(fid) for fid in dict.fromkeys(moving)], ("file_id", "dataset", "date", "registered_at")
            )
        }
        lost: list[str] = []
        ops: list[FileOp] = []
        for change in changes:
            moves = change.moves
            if moves and change.file_id not in meta:
                lost.append(change.file_id)  # no such file: its condition cannot hold
                continue
            ops.append(self._change_op(change, meta.get(change.file_id) if moves else None))
        return lost + sorted(self.writer.run_ops(ops))

    def _change_op(self, change: FileChange, meta: dict[str, Any] | None) -> FileOp:
        sets: dict[str, object] = change.values()
        ledger = sets.pop("ledger", None)
        if isinstance(ledger, Ledger):
            sets.update(ledger_values(ledger))
        delta: dict[str, int] = {}
        date = None
        if meta is not None and change.state is not None:
            sets["state"] = change.state.value
            delta = {change.expect_state.value: -1, change.state.value: 1}
            date = (meta["dataset"], meta["date"])
            if change.state in WAITING:
                sets.update(
                    waiting_key(
                        change.state,
                        change.file_id,
                        meta["dataset"],
                        meta["date"],
                        meta["registered_at"],
                        self.policy.pending_shards,
                    )
                )
            elif change.expect_state in WAITING:
                sets.update({"wpk": None, "wsk": None})
        update = update_expression(sets)
        update["ExpressionAttributeNames"].update({"#cst": "state", "#cmid": "manifest_id"})
        update["ExpressionAttributeValues"][":cst"] = {"S": change.expect_state.value}
        if change.expect_manifest is None:
            update["ConditionExpression"] = "#cst = :cst AND attribute_not_exists(#cmid)"
        else:
            update["ConditionExpression"] = "#cst = :cst AND #cmid = :cmid"
            update["ExpressionAttributeValues"][":cmid"] = {"S": change.expect_manifest}
        item_key = file_key(change.file_id)
        if not update["UpdateExpression"]:  # nothing to change: still report whether the condition holds
            del update["UpdateExpression"]
            return FileOp(change.file_id, [{"ConditionCheck": {"Key": item_key, **update}}], date, delta)
        return FileOp(change.file_id, [{"Update": {"Key": item_key, **update}}], date, delta)
