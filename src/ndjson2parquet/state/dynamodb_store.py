"""DynamoDB state store: the AWS backend. Conditional writes and transactions are its only locks.

The store is assembled from modules that each hold one concern:

* `dynamodb_table`: the key layout, the table's creation, attribute coding;
* `dynamodb_requests`: every request, retried with backoff and translated into domain errors;
* `dynamodb_items`: records ↔ items, update expressions;
* `dynamodb_writes`: conditional file writes in transactions that keep the counters exact;
* `dynamodb_listings`: bounded, merged pages over sharded GSI partitions;
* `dynamodb_manifests`: claims (one transaction, or the CLAIMING protocol) and manifest transitions;
* this module: files, counts, dates and schemas, and the store itself.

Every state change of a file is one conditional Update inside a `TransactWriteItems` that also adds
to the counters, so counts stay exact without scans. Nothing from botocore escapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..backoff import Backoff
from ..config.settings import StorePolicy
from ..domain.errors import ConditionFailed
from ..domain.records import DateStatus, FileRecord, Ledger, Page, SealRecord
from ..domain.states import FileState
from .changes import FileChange
from .codec import decode_seal, encode_seal
from .dynamodb_items import (
    WAITING,
    file_from,
    file_item,
    file_key,
    ledger_values,
    owner_key,
    update_expression,
    waiting_key,
    waiting_partitions,
)
from .dynamodb_listings import decode_cursor, encode_cursor
from .dynamodb_manifests import ManifestPrimitives
from .dynamodb_requests import TransactionCancelled, key
from .dynamodb_table import TTL_ATTRIBUTE, WAITING_INDEX, av, plain, py
from .dynamodb_writes import COUNTER_SHARDS, FileOp
from .store import StateStore

__all__ = ["DynamoDbStore"]

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


def _date_counts(shards: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Files per state of a date, summed over its counter shards (states with none left out)."""
    counts: dict[str, int] = {}
    for values in shards:
        for name, n in values.items():
            if name.startswith("n_"):
                counts[name[2:]] = counts.get(name[2:], 0) + n
    return {k: v for k, v in counts.items() if v}


def _unchanged(shard: Mapping[str, Any]) -> dict[str, Any]:
    """A condition that a date counter shard still holds exactly these per-state counts."""
    parts, names, values = [], {}, {}
    for i, state in enumerate(FileState):
        names[f"#n{i}"] = f"n_{state.value}"
        if f"n_{state.value}" in shard:
            parts.append(f"#n{i} = :n{i}")
            values[f":n{i}"] = {"N": str(shard[f"n_{state.value}"])}
        else:
            parts.append(f"attribute_not_exists(#n{i})")
    condition: dict[str, Any] = {"ConditionExpression": " AND ".join(parts), "ExpressionAttributeNames": names}
    if values:
        condition["ExpressionAttributeValues"] = values
    return condition


class DynamoDbStore(ManifestPrimitives, StateStore):
    """State in one DynamoDB table (see `dynamodb_table` for its layout)."""

    write_chunk = 1000  # base.py's chunk; transactions below it are split to 100 items
    expires_finished = True  # the table's TTL on expires_at

    def __init__(
        self, table_name: str, client: Any = None, policy: StorePolicy | None = None, backoff: Backoff | None = None
    ) -> None:
        StateStore.__init__(self, policy, backoff)
        if client is None:
            import boto3  # only when no client is injected: tests and Lambdas pass their own

            client = boto3.client("dynamodb")
        ManifestPrimitives.__init__(self, table_name, client, self.backoff)
        self._known_dates: set[tuple[str, str]] = set()

    def close(self) -> None:
        """Stop the query threads (the boto3 client needs no closing)."""
        self._close_pool()

    # ----------------------------------------------------------------- files
    def _insert_files(self, records: Sequence[FileRecord]) -> list[FileRecord]:
        unique = list({r.file_id: r for r in reversed(records)}.values())[::-1]
        # a consistent BatchGet is far cheaper than a cancelled transaction for re-delivered events
        existing = {py(i["pk"])[2:] for i in self._batch_get([file_key(r.file_id) for r in unique], ["pk"])}
        todo = [r for r in unique if r.file_id not in existing]
        for dataset, date in sorted({(r.dataset, r.date) for r in todo} - self._known_dates):
            self._register_date(dataset, date)
        shards = self.policy.pending_shards
        # a uri's first version writes its index item whole (a Put: cheaper than an update expression)
        uris = dict.fromkeys(r.uri for r in todo)
        indexed = {py(i["pk"])[2:] for i in self._batch_get([key(f"U#{uri}", _URI_INDEX) for uri in uris], ["pk"])}
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
            lost |= self._run_ops(ops)
            indexed.update(r.uri for r in round_)
        return [r for r in todo if r.file_id not in lost]

    def _import_files(self, records: Sequence[FileRecord]) -> list[FileRecord]:
        # a file item carries its state, manifest and ledger, and its counters follow its state
        return self._insert_files(records)

    def _register_date(self, dataset: str, date: str) -> None:
        for pk, sk in (("DS", dataset), (f"D#{dataset}", date)):
            self._call(
                "update_item",
                Key=key(pk, sk),
                UpdateExpression="SET #k = :k",
                ExpressionAttributeNames={"#k": "kind"},
                ExpressionAttributeValues={":k": {"S": pk[:2]}},
            )
        self._known_dates.add((dataset, date))

    def _get_files(self, file_ids: Sequence[str]) -> list[FileRecord]:
        items = self._batch_get([file_key(fid) for fid in dict.fromkeys(file_ids)])
        return [file_from(plain(i)) for i in items]

    def _files_by_uri(self, uri: str) -> list[FileRecord]:
        (index,) = self._batch_get([key(f"U#{uri}", _URI_INDEX)], ["ids"]) or [{}]
        return self._get_files(sorted(py(index["ids"]))) if "ids" in index else []

    def _versions_of(self, uris: Sequence[str], listed: Mapping[str, str]) -> list[FileRecord]:
        # one consistent BatchGet of the uris' index items (100 a request): a uri never seen costs
        # nothing more; one listed at its latest version, a read of that version; others, of all theirs
        index = self._batch_get([key(f"U#{uri}", _URI_INDEX) for uri in dict.fromkeys(uris)], ["pk", "ids", "latest"])
        wanted: list[str] = []
        for item in index:
            uri, latest = py(item["pk"])[2:], py(item["latest"])
            wanted += [latest] if listed.get(uri) == latest else sorted(py(item["ids"]))
        return self._get_files(wanted)

    def _query_waiting(
        self, state: FileState, dataset: str, date: str, limit: int, cursor: str | None
    ) -> Page[FileRecord]:
        partitions = waiting_partitions(state, dataset, date, self.policy.pending_shards)
        items, next_cursor = self._merged_page(WAITING_INDEX, "wpk", "wsk", partitions, limit, cursor)
        return Page([file_from(plain(i)) for i in items], next_cursor)

    def _update_files(self, changes: Sequence[FileChange]) -> list[str]:
        moving = [c.file_id for c in changes if c.state is not None and c.state != c.expect_state]
        # dataset, date and registered_at never change: reading them first is race-free
        meta = {
            py(i["file_id"]): plain(i)
            for i in self._batch_get(
                [file_key(fid) for fid in dict.fromkeys(moving)], ("file_id", "dataset", "date", "registered_at")
            )
        }
        lost: list[str] = []
        ops: list[FileOp] = []
        for change in changes:
            moves = change.state is not None and change.state != change.expect_state
            if moves and change.file_id not in meta:
                lost.append(change.file_id)  # no such file: its condition cannot hold
                continue
            ops.append(self._change_op(change, meta.get(change.file_id) if moves else None))
        return lost + sorted(self._run_ops(ops))

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

    # ----------------------------------------------------------------- counts, dates, schema
    def _counts(self) -> tuple[dict[str, int], dict[str, int]]:
        files: dict[str, int] = {}
        manifests: dict[str, int] = {}
        shards = self._query_all(
            KeyConditionExpression="pk = :p", ConsistentRead=True, ExpressionAttributeValues={":p": {"S": "COUNT"}}
        )
        for item in shards:
            for name, value in plain(item).items():
                target = files if name.startswith("f_") else manifests if name.startswith("m_") else None
                if target is not None:
                    target[name[2:]] = target.get(name[2:], 0) + value
        return files, manifests

    def _date_status(self, item: dict[str, Any]) -> DateStatus:
        values = plain(item)
        dataset, date = values["pk"][2:], values["sk"]
        files = _date_counts(self._counter_shards(dataset, date).values())
        seal = decode_seal(values.get("seal_record"))
        return DateStatus(dataset, date, files, values.get("sealed_at"), values.get("late_files", 0), seal)

    def _counter_shards(self, dataset: str, date: str) -> dict[str, dict[str, Any]]:
        """A date's counter shards (consistent reads), by shard."""
        items = self._query_all(
            KeyConditionExpression="pk = :p",
            ConsistentRead=True,
            ExpressionAttributeValues={":p": {"S": f"C#{dataset}#{date}"}},
        )
        return {py(item["sk"]): plain(item) for item in items}

    def _get_date(self, dataset: str, date: str) -> DateStatus | None:
        item = self._call("get_item", Key=key(f"D#{dataset}", date), ConsistentRead=True).get("Item")
        return self._date_status(item) if item else None

    def _query_dates(self, dataset: str | None, limit: int, cursor: str | None) -> Page[DateStatus]:
        after = decode_cursor(cursor)
        start_ds, start_date = after.split("\n", 1) if after is not None else (None, None)
        datasets = [dataset] if dataset is not None else self._datasets(start_ds)
        out: list[DateStatus] = []
        for ds in datasets:
            condition, values = "pk = :p", {":p": {"S": f"D#{ds}"}}
            if start_date is not None and ds == start_ds:
                condition, values = condition + " AND sk > :a", {**values, ":a": {"S": start_date}}
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "ConsistentRead": True,
            }
            while True:
                resp = self._call("query", Limit=limit - len(out) + 1, **kwargs)  # one extra: is there more?
                for item in resp["Items"]:
                    if len(out) == limit:
                        return Page(out, encode_cursor(f"{out[-1].dataset}\n{out[-1].date}"))
                    out.append(self._date_status(item))
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return Page(out, None)

    def _datasets(self, start: str | None) -> Iterator[str]:
        """Registered datasets from `start` on, read lazily page by page."""
        condition, values = "pk = :p", {":p": {"S": "DS"}}
        if start is not None:
            condition, values = condition + " AND sk >= :a", {**values, ":a": {"S": start}}
        registry = self._query_all(
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
            Limit=self.policy.page_size,
        )
        for item in registry:
            yield py(item["sk"])

    def _seal_date(
        self, dataset: str, date: str, sealed_at: float, seal: SealRecord, expect_files: Mapping[str, int]
    ) -> None:
        # Registration adds to a counter shard in the transaction that inserts the file, so "every
        # shard still holds the values read" is "no file came or moved": the seal's condition.
        partition = f"C#{dataset}#{date}"
        shards = self._counter_shards(dataset, date)
        if _date_counts(shards.values()) != dict(expect_files):
            raise ConditionFailed(f"{dataset}/{date} changed while it was being sealed")
        checks = [
            {"ConditionCheck": {"Key": key(partition, str(shard)), **_unchanged(shards.get(str(shard), {}))}}
            for shard in range(COUNTER_SHARDS)
        ]
        seal_update = {
            "Update": {
                "Key": key(f"D#{dataset}", date),
                "UpdateExpression": "SET sealed_at = :s, seal_record = :r",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":s": av(sealed_at), ":r": {"S": encode_seal(seal)}},
            }
        }
        try:
            self._transact([seal_update, *checks])
        except TransactionCancelled:
            raise ConditionFailed(f"{dataset}/{date} changed while it was being sealed") from None

    def _open_date(self, dataset: str, date: str, *, late: bool) -> bool:
        try:
            self._call(
                "update_item",
                Key=key(f"D#{dataset}", date),
                UpdateExpression="REMOVE sealed_at, seal_record ADD late_files :d",
                ConditionExpression="attribute_exists(sealed_at)",
                ExpressionAttributeValues={":d": {"N": str(int(late))}},
            )
        except ConditionFailed:
            return False  # not sealed (or never registered): nothing to open
        return True

    def _get_schema(self, dataset: str) -> tuple[int, str] | None:
        item = self._call("get_item", Key=key(f"S#{dataset}", "S"), ConsistentRead=True).get("Item")
        return (py(item["version"]), py(item["schema"])) if item else None

    def _put_schema(self, dataset: str, schema_json: str, expected_version: int) -> None:
        schema_key = key(f"S#{dataset}", "S")
        try:
            if expected_version == 0:
                self._call(
                    "put_item",
                    Item={**schema_key, "version": {"N": "1"}, "schema": {"S": schema_json}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            else:
                self._call(
                    "update_item",
                    Key=schema_key,
                    UpdateExpression="SET version = :n, #s = :s",
                    ConditionExpression="version = :e",
                    ExpressionAttributeNames={"#s": "schema"},
                    ExpressionAttributeValues={
                        ":n": {"N": str(expected_version + 1)},
                        ":e": {"N": str(expected_version)},
                        ":s": {"S": schema_json},
                    },
                )
        except ConditionFailed:
            raise ConditionFailed(f"schema of {dataset} moved past version {expected_version}") from None

    # ----------------------------------------------------------------- owners
    def _put_owner(self, owner: str, alive_until: float, expires_at: int) -> None:
        item = {**owner_key(owner), "alive_until": av(alive_until), TTL_ATTRIBUTE: {"N": str(expires_at)}}
        self._call("put_item", Item=item)

    def _delete_owner(self, owner: str) -> None:
        self._call("delete_item", Key=owner_key(owner))

    def _get_owner(self, owner: str) -> float | None:
        item = self._call("get_item", Key=owner_key(owner), ConsistentRead=True).get("Item")
        return float(py(item["alive_until"])) if item else None
