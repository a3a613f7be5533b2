"""DynamoDB state store: the AWS backend. Conditional writes and transactions are its only locks.

The table layout is documented in `dynamodb_table`. Every state change of a file is one conditional
Update inside a `TransactWriteItems` that also adds to the counters, so counts stay exact without
scans. Listings read sparse, sharded GSI keys with bounded queries. Every request is retried with
`Backoff` while DynamoDB throttles or a transaction conflicts; nothing from botocore escapes.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..backoff import Backoff
from ..config.settings import StorePolicy
from ..domain.errors import ConditionFailed, ConfigError, StoreUnavailable, TerminalError, Throttled
from ..domain.records import DateStatus, FileRecord, Ledger, Manifest, Page
from ..domain.states import FileState, ManifestState
from .base import FileChange, StateStore
from .dynamodb_table import LIVE_INDEX, WAITING_INDEX, Item, av, encode_item, plain, py

MAX_TRANSACTION = 100  # items in one TransactWriteItems
COUNTER_SHARDS = 8  # counter items per (dataset, date) and globally: spreads hot writes and conflicts
INLINE_IDS = 97  # a claim this small is one transaction: manifest + files + 2 counter items = 100
CHUNK_IDS = 2000  # file ids per manifest list item (~70 KB, far below the 400 KB item limit)
_THROTTLED = {
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "TransactionConflict", "TransactionConflictException", "TransactionInProgressException",
    "ThrottlingError", "ProvisionedThroughputExceeded",
}
_UNAVAILABLE = {"InternalServerError", "ServiceUnavailable", "InternalFailure"}
_WAITING = (FileState.PENDING, FileState.FAILED)
_MANIFEST_FIELDS = frozenset(Manifest.__dataclass_fields__)


class _Cancelled(TerminalError):
    """A transaction cancelled because some of its conditions failed: `reasons` says which."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons


@dataclass
class _Op:
    """One conditional file write in a transaction, with the counter deltas it implies."""

    file_id: str
    items: list[dict[str, Any]]  # the first item carries the condition
    date: tuple[str, str] | None = None
    delta: dict[str, int] = field(default_factory=dict)  # state -> +/- files


class DynamoDbStore(StateStore):
    """State in one DynamoDB table (see `dynamodb_table` for its layout)."""

    write_chunk = 1000  # base.py's chunk; transactions below it are split to 100 items

    def __init__(
        self, table_name: str, client: Any = None, policy: StorePolicy | None = None, backoff: Backoff | None = None
    ) -> None:
        super().__init__(policy, backoff)
        if client is None:
            import boto3  # only when no client is injected: tests and Lambdas pass their own

            client = boto3.client("dynamodb")
        self.client = client
        self.table = table_name
        self._known_dates: set[tuple[str, str]] = set()

    # ----------------------------------------------------------------- requests, retries, errors
    def _request(self, op: str, **kwargs: Any) -> dict[str, Any]:
        """One request, retried with backoff while throttled; errors become domain errors exactly once."""

        def attempt() -> dict[str, Any]:
            try:
                return getattr(self.client, op)(**kwargs)
            except ClientError as exc:
                raise _translate(op, exc) from exc
            except BotoCoreError as exc:
                raise StoreUnavailable(f"DynamoDB {op} failed: {exc}") from exc

        return self.backoff.call(attempt)

    def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        """A single-table request (GetItem, PutItem, UpdateItem, Query) on our table."""
        return self._request(op, TableName=self.table, **kwargs)

    def _transact(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            next(iter(item.values()))["TableName"] = self.table
        self._request("transact_write_items", TransactItems=items)

    def _key(self, pk: str, sk: str) -> Item:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def _query_all(self, **kwargs: Any) -> Iterator[Item]:
        """Every item of a query, page by page (used on small partitions: counters, chunks, uri versions)."""
        while True:
            resp = self._call("query", **kwargs)
            yield from resp["Items"]
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        """BatchWriteItem in 25s, retrying `UnprocessedItems` with backoff until none is left."""
        for start in range(0, len(requests), 25):
            todo = requests[start : start + 25]
            for attempt in range(self.backoff.attempts):
                resp = self._request("batch_write_item", RequestItems={self.table: todo})
                todo = resp.get("UnprocessedItems", {}).get(self.table, [])
                if not todo:
                    break
                time.sleep(self.backoff.delay(attempt))
            else:
                raise Throttled(f"{len(todo)} item(s) still unprocessed after {self.backoff.attempts} attempts")

    def _batch_get(self, keys: list[Item], attributes: Sequence[str] = ()) -> list[Item]:
        """Strongly consistent BatchGetItem in 100s, retrying `UnprocessedKeys` with backoff."""
        out: list[Item] = []
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {"Keys": keys[start : start + 100], "ConsistentRead": True}
            if attributes:
                request["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(attributes)))
                request["ExpressionAttributeNames"] = {f"#p{i}": a for i, a in enumerate(attributes)}
            for attempt in range(self.backoff.attempts):
                resp = self._request("batch_get_item", RequestItems={self.table: request})
                out.extend(resp.get("Responses", {}).get(self.table, []))
                left = resp.get("UnprocessedKeys", {}).get(self.table)
                if not left:
                    break
                request = left
                time.sleep(self.backoff.delay(attempt))
            else:
                raise Throttled(f"keys still unprocessed after {self.backoff.attempts} attempts")
        return out

    # ----------------------------------------------------------------- conditional file writes
    def _run_ops(self, ops: list[_Op], guard: dict[str, Any] | None = None) -> set[str]:
        """Apply ops in transactions of ≤ 100 items; return the ids whose condition failed.

        A cancelled transaction names the items that failed: those are dropped and the rest retried.
        `guard` (a ConditionCheck) rides in every transaction; if it fails, ConditionFailed is raised.
        """
        lost: set[str] = set()
        queue = list(ops)
        while queue:
            batch: list[_Op] = []
            dates: set[tuple[str, str]] = set()
            used = 2 if guard else 1  # the global counter (and the guard)
            while queue:
                op = queue[0]
                more = 1 if op.date is not None and op.date not in dates and op.delta else 0
                if batch and used + len(op.items) + more > MAX_TRANSACTION:
                    break
                batch.append(queue.pop(0))
                used += len(op.items) + more
                if more:
                    dates.add(op.date)  # type: ignore[arg-type]
            lost |= self._run_batch(batch, guard)
        return lost

    def _run_batch(self, batch: list[_Op], guard: dict[str, Any] | None) -> set[str]:
        lost: set[str] = set()
        while batch:
            items: list[dict[str, Any]] = []
            owner: list[_Op | None] = []
            for op in batch:
                items.extend(op.items)
                owner.extend([op] * len(op.items))
            if guard:
                items.append({"ConditionCheck": dict(guard)})
                owner.append(None)
            items.extend(self._counter_items(batch))
            try:
                self._transact(items)
                return lost
            except _Cancelled as exc:
                failed = {i for i, code in enumerate(exc.reasons) if code == "ConditionalCheckFailed"}
                if any(owner[i] is None for i in failed if i < len(owner)):
                    raise ConditionFailed("the manifest being claimed for was abandoned") from None
                dropped = {owner[i].file_id for i in failed if i < len(owner) and owner[i] is not None}  # type: ignore[union-attr]
                if not dropped:
                    raise StoreUnavailable(f"transaction cancelled: {exc.reasons}") from exc
                lost |= dropped
                batch = [op for op in batch if op.file_id not in dropped]
        return lost

    def _counter_items(self, ops: Sequence[_Op], manifests: dict[str, int] | None = None) -> list[dict[str, Any]]:
        """ADDs to one shard of each touched date counter and of the global counter."""
        shard = str(random.randrange(COUNTER_SHARDS))
        per_date: dict[tuple[str, str], dict[str, int]] = {}
        total: dict[str, int] = {}
        for op in ops:
            if op.date is None:
                continue
            for state, n in op.delta.items():
                per_date.setdefault(op.date, {})
                per_date[op.date][f"n_{state}"] = per_date[op.date].get(f"n_{state}", 0) + n
                total[f"f_{state}"] = total.get(f"f_{state}", 0) + n
        for state, n in (manifests or {}).items():
            total[f"m_{state}"] = total.get(f"m_{state}", 0) + n
        items = [_add(self._key(f"C#{ds}#{date}", shard), d) for (ds, date), d in per_date.items()]
        if any(total.values()):
            items.append(_add(self._key("COUNT", shard), total))
        return [i for i in items if i is not None]

    # ----------------------------------------------------------------- files
    def _insert_files(self, records: Sequence[FileRecord]) -> list[FileRecord]:
        unique = list({r.file_id: r for r in reversed(records)}.values())[::-1]
        # a consistent BatchGet is far cheaper than a cancelled transaction for re-delivered events
        keys = [self._key(f"F#{r.file_id}", "F") for r in unique]
        existing = {py(i["pk"])[2:] for i in self._batch_get(keys, ["pk"])}
        todo = [r for r in unique if r.file_id not in existing]
        for key in sorted({(r.dataset, r.date) for r in todo} - self._known_dates):
            self._register_date(*key)
        ops = [
            _Op(
                r.file_id,
                [
                    {"Put": {"Item": self._file_item(r), "ConditionExpression": "attribute_not_exists(pk)"}},
                    {"Put": {"Item": encode_item({"pk": f"U#{r.uri}", "sk": r.file_id})}},
                ],
                (r.dataset, r.date),
                {r.state.value: 1},
            )
            for r in todo
        ]
        lost = self._run_ops(ops)
        return [r for r in todo if r.file_id not in lost]

    def _register_date(self, dataset: str, date: str) -> None:
        for pk, sk in (("DS", dataset), (f"D#{dataset}", date)):
            self._call("update_item", Key=self._key(pk, sk), UpdateExpression="SET #k = :k",
                       ExpressionAttributeNames={"#k": "kind"}, ExpressionAttributeValues={":k": {"S": pk[:2]}})
        self._known_dates.add((dataset, date))

    def _file_item(self, r: FileRecord) -> Item:
        values: dict[str, object] = {
            "pk": f"F#{r.file_id}", "sk": "F", "file_id": r.file_id, "dataset": r.dataset, "uri": r.uri,
            "version": r.version, "size": r.size, "date": r.date, "arrived_at": r.arrived_at,
            "registered_at": r.registered_at, "state": r.state.value, "manifest_id": r.manifest_id,
            "attempts": r.attempts, "error": r.error, "updated_at": r.updated_at,
            **_ledger_values(r.ledger),
        }
        if r.state in _WAITING:
            values.update(self._waiting_key(r.state, r.file_id, r.dataset, r.date, r.registered_at))
        return encode_item(values)

    def _waiting_key(self, state: FileState, file_id: str, dataset: str, date: str, at: float) -> dict[str, str]:
        shard = zlib.crc32(file_id.encode()) % self.policy.pending_shards  # stable across processes
        return {"wpk": f"{state.value}#{dataset}#{date}#{shard}", "wsk": f"{at:020.6f}#{file_id}"}

    def _get_files(self, file_ids: Sequence[str]) -> list[FileRecord]:
        items = self._batch_get([self._key(f"F#{fid}", "F") for fid in dict.fromkeys(file_ids)])
        return [_file(plain(i)) for i in items]

    def _files_by_uri(self, uri: str) -> list[FileRecord]:
        ids = [py(i["sk"]) for i in self._query_all(
            KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": f"U#{uri}"}},
            ConsistentRead=True, Limit=self.policy.page_size)]
        return self._get_files(ids)

    def _query_waiting(
        self, state: FileState, dataset: str, date: str, limit: int, cursor: str | None
    ) -> Page[FileRecord]:
        keys = [f"{FileState(state).value}#{dataset}#{date}#{s}" for s in range(self.policy.pending_shards)]
        items, next_cursor = self._sharded(WAITING_INDEX, "wpk", "wsk", keys, limit, cursor)
        return Page([_file(plain(i)) for i in items], next_cursor)

    def _sharded(
        self, index: str, hash_name: str, sort_name: str, keys: list[str], limit: int, cursor: str | None
    ) -> tuple[list[Item], str | None]:
        """Merge bounded queries over every shard by sort key. The cursor is the last sort key returned:
        every shard resumes after it, so items are neither skipped nor repeated."""
        after = json.loads(base64.urlsafe_b64decode(cursor))["after"] if cursor else None
        merged: list[Item] = []
        bounds: list[str] = []  # a shard that stopped early: nothing past its last item is known yet
        for key in keys:
            values = {":h": {"S": key}}
            condition = "#h = :h"
            if after is not None:
                condition += " AND #s > :a"
                values[":a"] = {"S": after}
            resp = self._call("query", IndexName=index, KeyConditionExpression=condition, Limit=limit,
                              ExpressionAttributeNames={"#h": hash_name, **({"#s": sort_name} if after else {})},
                              ExpressionAttributeValues=values)
            merged.extend(resp["Items"])
            if "LastEvaluatedKey" in resp and resp["Items"]:
                bounds.append(resp["Items"][-1][sort_name]["S"])
        merged.sort(key=lambda i: i[sort_name]["S"])
        if bounds:
            merged = [i for i in merged if i[sort_name]["S"] <= min(bounds)]
        page = merged[:limit]
        more = len(merged) > limit or bool(bounds)
        token = json.dumps({"after": page[-1][sort_name]["S"]}).encode() if more and page else None
        return page, base64.urlsafe_b64encode(token).decode() if token else None

    def _update_files(self, changes: Sequence[FileChange]) -> list[str]:
        moving = [c.file_id for c in changes if c.state is not None and c.state != c.expect_state]
        # dataset, date and registered_at never change: reading them first is race-free
        meta = {py(i["file_id"]): plain(i) for i in self._batch_get(
            [self._key(f"F#{fid}", "F") for fid in dict.fromkeys(moving)],
            ("file_id", "dataset", "date", "registered_at"))}
        lost: list[str] = []
        ops: list[_Op] = []
        for change in changes:
            moves = change.state is not None and change.state != change.expect_state
            if moves and change.file_id not in meta:
                lost.append(change.file_id)  # no such file: its condition cannot hold
                continue
            ops.append(self._change_op(change, meta.get(change.file_id) if moves else None))
        return lost + sorted(self._run_ops(ops))

    def _change_op(self, change: FileChange, meta: dict[str, Any] | None) -> _Op:
        sets: dict[str, object] = dict(change.set_fields)
        ledger = sets.pop("ledger", None)
        if isinstance(ledger, Ledger):
            sets.update(_ledger_values(ledger))
        delta: dict[str, int] = {}
        date = None
        if meta is not None and change.state is not None:
            sets["state"] = change.state.value
            delta = {change.expect_state.value: -1, change.state.value: 1}
            date = (meta["dataset"], meta["date"])
            if change.state in _WAITING:
                sets.update(self._waiting_key(change.state, change.file_id, meta["dataset"], meta["date"],
                                              meta["registered_at"]))
            elif change.expect_state in _WAITING:
                sets.update({"wpk": None, "wsk": None})
        update = _update_expression(sets)
        update["ExpressionAttributeNames"].update({"#cst": "state", "#cmid": "manifest_id"})
        update["ExpressionAttributeValues"][":cst"] = {"S": change.expect_state.value}
        if change.expect_manifest is None:
            update["ConditionExpression"] = "#cst = :cst AND attribute_not_exists(#cmid)"
        else:
            update["ConditionExpression"] = "#cst = :cst AND #cmid = :cmid"
            update["ExpressionAttributeValues"][":cmid"] = {"S": change.expect_manifest}
        key = self._key(f"F#{change.file_id}", "F")
        if not update["UpdateExpression"]:  # nothing to change: still report whether the condition holds
            del update["UpdateExpression"]
            return _Op(change.file_id, [{"ConditionCheck": {"Key": key, **update}}], date, delta)
        return _Op(change.file_id, [{"Update": {"Key": key, **update}}], date, delta)

    # ----------------------------------------------------------------- manifests
    def _create_manifest(self, manifest: Manifest) -> None:
        ids = manifest.file_ids
        ops = [self._claim_op(fid, manifest) for fid in ids]
        if len(ids) <= INLINE_IDS:
            put = {"Put": {"Item": self._manifest_item(manifest, inline=True),
                           "ConditionExpression": "attribute_not_exists(pk)"}}
            try:
                items = [put] + [op.items[0] for op in ops]
                self._transact(items + self._counter_items(ops, {manifest.state.value: 1}))
            except _Cancelled as exc:
                raise ConditionFailed(f"a file of the claim is no longer PENDING: {exc.reasons}") from None
            return
        # too big for one transaction: the CLAIMING protocol (recovery finds it by its lease and live key)
        claiming = manifest.evolve(state=ManifestState.CLAIMING)
        key = self._key(f"M#{manifest.manifest_id}", "M")
        self._transact([{"Put": {"Item": self._manifest_item(claiming, inline=False),
                                 "ConditionExpression": "attribute_not_exists(pk)"}},
                        *self._counter_items([], {ManifestState.CLAIMING.value: 1})])
        self._batch_write([{"PutRequest": {"Item": encode_item(
            {"pk": f"M#{manifest.manifest_id}", "sk": f"C#{n:05d}", "ids": list(ids[s : s + CHUNK_IDS])})}}
            for n, s in enumerate(range(0, len(ids), CHUNK_IDS))])
        guard = {"Key": key, "ConditionExpression": "#st = :claiming AND attribute_not_exists(abandoned)",
                 "ExpressionAttributeNames": {"#st": "state"},
                 "ExpressionAttributeValues": {":claiming": {"S": ManifestState.CLAIMING.value}}}
        try:
            lost = self._run_ops(ops, guard=guard)
        except ConditionFailed:
            lost = {"(abandoned)"}
        if lost:
            self._release_claim(manifest.manifest_id)
            raise ConditionFailed(f"{len(lost)} file(s) of the claim are no longer PENDING")
        try:
            self._transact([
                {"Update": {"Key": key, "UpdateExpression": "SET #st = :created",
                            "ConditionExpression": "#st = :claiming AND attribute_not_exists(abandoned)",
                            "ExpressionAttributeNames": {"#st": "state"},
                            "ExpressionAttributeValues": {":created": {"S": manifest.state.value},
                                                          ":claiming": {"S": ManifestState.CLAIMING.value}}}},
                *self._counter_items([], {ManifestState.CLAIMING.value: -1, manifest.state.value: 1}),
            ])
        except _Cancelled:
            raise ConditionFailed(f"{manifest.manifest_id} was abandoned while claiming") from None

    def _claim_op(self, file_id: str, manifest: Manifest) -> _Op:
        """PENDING → CLAIMED: the waiting key goes (the file leaves every listing at once)."""
        update = {
            "Key": self._key(f"F#{file_id}", "F"),
            "UpdateExpression": "SET #st = :claimed, manifest_id = :m, updated_at = :t REMOVE wpk, wsk",
            "ConditionExpression": "#st = :pending",
            "ExpressionAttributeNames": {"#st": "state"},
            "ExpressionAttributeValues": {":claimed": {"S": FileState.CLAIMED.value},
                                          ":pending": {"S": FileState.PENDING.value},
                                          ":m": {"S": manifest.manifest_id}, ":t": av(manifest.created_at)},
        }
        return _Op(file_id, [{"Update": update}], (manifest.dataset, manifest.date),
                   {FileState.PENDING.value: -1, FileState.CLAIMED.value: 1})

    def _abandon_claim(self, manifest: Manifest) -> None:
        self._release_claim(manifest.manifest_id)

    def _release_claim(self, manifest_id: str) -> None:
        """Mark a CLAIMING manifest abandoned (no claim can join it after), release its files, delete it."""
        key = self._key(f"M#{manifest_id}", "M")
        try:
            self._call("update_item", Key=key, UpdateExpression="SET abandoned = :t",
                       ConditionExpression="#st = :claiming", ExpressionAttributeNames={"#st": "state"},
                       ExpressionAttributeValues={":t": {"BOOL": True},
                                                  ":claiming": {"S": ManifestState.CLAIMING.value}})
        except ConditionFailed:
            if self._get_manifest(manifest_id) is None:
                return  # already gone: an earlier abandon finished
            raise
        chunks = list(self._query_all(KeyConditionExpression="pk = :p AND begins_with(sk, :c)",
                                      ExpressionAttributeValues={":p": {"S": f"M#{manifest_id}"}, ":c": {"S": "C#"}},
                                      ConsistentRead=True))
        ids = [fid for c in chunks for fid in py(c["ids"])]
        self._update_files([FileChange(fid, FileState.CLAIMED, manifest_id, FileState.PENDING, {"manifest_id": None})
                            for fid in ids])
        self._batch_write([{"DeleteRequest": {"Key": {"pk": c["pk"], "sk": c["sk"]}}} for c in chunks])
        with contextlib.suppress(_Cancelled):  # deleted meanwhile by a concurrent abandon
            self._transact([{"Delete": {"Key": key, "ConditionExpression": "#st = :claiming",
                                        "ExpressionAttributeNames": {"#st": "state"},
                                        "ExpressionAttributeValues": {":claiming": {"S": "CLAIMING"}}}},
                            *self._counter_items([], {ManifestState.CLAIMING.value: -1})])

    def _manifest_item(self, m: Manifest, *, inline: bool) -> Item:
        shard = zlib.crc32(m.manifest_id.encode()) % self.policy.pending_shards
        values: dict[str, object] = {
            "pk": f"M#{m.manifest_id}", "sk": "M", "manifest_id": m.manifest_id, "dataset": m.dataset,
            "date": m.date, "state": m.state.value, "bytes": m.bytes, "created_at": m.created_at,
            "updated_at": m.updated_at, "reason": m.reason, "runs": m.runs, "lease_owner": m.lease_owner,
            "lease_expires_at": m.lease_expires_at, "settled": m.settled, "outputs": list(m.outputs),
            "stats": json.dumps(m.stats), "error": m.error, "n_files": len(m.file_ids),
            "file_ids": list(m.file_ids) if inline else None,
        }
        if not m.settled:
            values.update({"lpk": f"LIVE#{shard}", "lsk": f"{m.created_at:020.6f}#{m.manifest_id}"})
        return encode_item(values)

    def _manifest_from(self, meta: Item, chunks: list[Item] | None = None) -> Manifest:
        values = plain(meta)
        if "file_ids" in values:
            ids = values["file_ids"]
        else:
            if chunks is None:
                chunks = list(self._query_all(
                    KeyConditionExpression="pk = :p AND begins_with(sk, :c)", ConsistentRead=True,
                    ExpressionAttributeValues={":p": meta["pk"], ":c": {"S": "C#"}}))
            ids = [fid for c in sorted(chunks, key=lambda c: c["sk"]["S"]) for fid in py(c["ids"])]
        return _manifest(values, ids)

    def _get_manifest(self, manifest_id: str) -> Manifest | None:
        items = list(self._query_all(KeyConditionExpression="pk = :p", ConsistentRead=True,
                                     ExpressionAttributeValues={":p": {"S": f"M#{manifest_id}"}}))
        meta = [i for i in items if i["sk"]["S"] == "M"]
        return self._manifest_from(meta[0], [i for i in items if i["sk"]["S"] != "M"]) if meta else None

    def _update_manifest(
        self,
        manifest_id: str,
        expect_states: frozenset[ManifestState],
        expect_owner: str | None,
        changes: dict[str, object],
    ) -> Manifest:
        sets = {name: _manifest_value(name, value) for name, value in changes.items()}
        if changes.get("settled"):
            sets.update({"lpk": None, "lsk": None})  # off the live index: recovery never sees it again
        key = self._key(f"M#{manifest_id}", "M")
        failure = ConditionFailed(f"manifest {manifest_id} is not in {sorted(expect_states)} held by {expect_owner}")
        if "state" not in changes:
            update = self._manifest_condition(sets, expect_states, expect_owner)
            try:
                resp = self._call("update_item", Key=key, ReturnValues="ALL_NEW", **update)
            except ConditionFailed:
                raise failure from None
            done = self._manifest_from(resp["Attributes"])
        else:
            done = self._move_manifest(manifest_id, key, sets, expect_states, expect_owner, changes, failure)
        if "expires_at" in changes and len(done.file_ids) > INLINE_IDS:
            self._expire_chunks(manifest_id, changes["expires_at"])
        return done

    def _move_manifest(
        self,
        manifest_id: str,
        key: Item,
        sets: dict[str, object],
        expect_states: frozenset[ManifestState],
        expect_owner: str | None,
        changes: dict[str, object],
        failure: ConditionFailed,
    ) -> Manifest:
        """A state change moves the manifest counters in the same transaction, so the exact current
        state is read first and made the condition; if it moved between two expected states, look again."""
        target = ManifestState(changes["state"])  # type: ignore[arg-type]
        for _ in range(len(ManifestState) + 1):
            current = self._get_manifest(manifest_id)
            if current is None or current.state not in expect_states or (
                expect_owner is not None and current.lease_owner != expect_owner
            ):
                raise failure
            update = self._manifest_condition(sets, frozenset({current.state}), expect_owner)
            try:
                self._transact([{"Update": {"Key": key, **update}},
                                *self._counter_items([], {current.state.value: -1, target.value: 1})])
            except _Cancelled:
                continue
            return current.evolve(**{k: _manifest_field(k, v) for k, v in changes.items() if k in _MANIFEST_FIELDS})
        raise failure

    def _manifest_condition(
        self, sets: dict[str, object], states: frozenset[ManifestState], owner: str | None
    ) -> dict[str, Any]:
        update = _update_expression(sets)
        names, values = update["ExpressionAttributeNames"], update["ExpressionAttributeValues"]
        names["#cst"] = "state"
        ordered = sorted(s.value for s in states)
        values.update({f":cs{i}": {"S": v} for i, v in enumerate(ordered)})
        condition = f"#cst IN ({', '.join(f':cs{i}' for i in range(len(ordered)))})"
        if owner is not None:
            names["#cown"] = "lease_owner"
            values[":cown"] = {"S": owner}
            condition += " AND #cown = :cown"
        update["ConditionExpression"] = condition
        return update

    def _expire_chunks(self, manifest_id: str, expires_at: object) -> None:
        """File-list items expire with their manifest (best effort: TTL is housekeeping)."""
        for c in self._query_all(KeyConditionExpression="pk = :p AND begins_with(sk, :c)", ConsistentRead=True,
                                 ProjectionExpression="pk, sk",
                                 ExpressionAttributeValues={":p": {"S": f"M#{manifest_id}"}, ":c": {"S": "C#"}}):
            self._call("update_item", Key={"pk": c["pk"], "sk": c["sk"]}, UpdateExpression="SET expires_at = :e",
                       ExpressionAttributeValues={":e": av(expires_at)})

    def _query_live_manifests(self, limit: int, cursor: str | None) -> Page[Manifest]:
        keys = [f"LIVE#{s}" for s in range(self.policy.pending_shards)]
        items, next_cursor = self._sharded(LIVE_INDEX, "lpk", "lsk", keys, limit, cursor)
        return Page([self._manifest_from(i) for i in items], next_cursor)

    # ----------------------------------------------------------------- counts, dates, schema
    def _counts(self) -> tuple[dict[str, int], dict[str, int]]:
        files: dict[str, int] = {}
        manifests: dict[str, int] = {}
        for item in self._query_all(KeyConditionExpression="pk = :p", ConsistentRead=True,
                                    ExpressionAttributeValues={":p": {"S": "COUNT"}}):
            for name, value in plain(item).items():
                target = files if name.startswith("f_") else manifests if name.startswith("m_") else None
                if target is not None:
                    target[name[2:]] = target.get(name[2:], 0) + value
        return files, manifests

    def _date_status(self, item: Item) -> DateStatus:
        values = plain(item)
        dataset, date = values["pk"][2:], values["sk"]
        counts: dict[str, int] = {}
        for shard in self._query_all(KeyConditionExpression="pk = :p", ConsistentRead=True,
                                     ExpressionAttributeValues={":p": {"S": f"C#{dataset}#{date}"}}):
            for name, value in plain(shard).items():
                if name.startswith("n_"):
                    counts[name[2:]] = counts.get(name[2:], 0) + value
        return DateStatus(dataset, date, {k: v for k, v in counts.items() if v}, values.get("sealed_at"),
                          values.get("late_files", 0))

    def _get_date(self, dataset: str, date: str) -> DateStatus | None:
        item = self._call("get_item", Key=self._key(f"D#{dataset}", date), ConsistentRead=True).get("Item")
        return self._date_status(item) if item else None

    def _query_dates(self, dataset: str | None, limit: int, cursor: str | None) -> Page[DateStatus]:
        after = json.loads(base64.urlsafe_b64decode(cursor)) if cursor else None
        datasets = [dataset] if dataset is not None else self._datasets(after[0] if after else None)
        out: list[DateStatus] = []
        for ds in datasets:
            condition, values = "pk = :p", {":p": {"S": f"D#{ds}"}}
            if after and ds == after[0]:
                condition, values = condition + " AND sk > :a", {**values, ":a": {"S": after[1]}}
            kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ExpressionAttributeValues": values,
                                      "ConsistentRead": True}
            while True:
                resp = self._call("query", Limit=limit - len(out) + 1, **kwargs)  # one extra: is there more?
                for item in resp["Items"]:
                    if len(out) == limit:
                        token = json.dumps([out[-1].dataset, out[-1].date]).encode()
                        return Page(out, base64.urlsafe_b64encode(token).decode())
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
        for item in self._query_all(KeyConditionExpression=condition, ExpressionAttributeValues=values,
                                    ConsistentRead=True, Limit=self.policy.page_size):
            yield py(item["sk"])

    def _update_date(self, dataset: str, date: str, *, sealed_at: float | None, late_delta: int) -> None:
        expr = ("SET sealed_at = :s" if sealed_at is not None else "REMOVE sealed_at") + " ADD late_files :d"
        values = {":d": {"N": str(late_delta)}}
        if sealed_at is not None:
            values[":s"] = av(sealed_at)
        with contextlib.suppress(ConditionFailed):  # like an UPDATE of no row: the date was never registered
            self._call("update_item", Key=self._key(f"D#{dataset}", date), UpdateExpression=expr,
                       ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues=values)

    def _get_schema(self, dataset: str) -> tuple[int, str] | None:
        item = self._call("get_item", Key=self._key(f"S#{dataset}", "S"), ConsistentRead=True).get("Item")
        return (py(item["version"]), py(item["schema"])) if item else None

    def _put_schema(self, dataset: str, schema_json: str, expected_version: int) -> None:
        key = self._key(f"S#{dataset}", "S")
        try:
            if expected_version == 0:
                self._call("put_item", Item={**key, "version": {"N": "1"}, "schema": {"S": schema_json}},
                           ConditionExpression="attribute_not_exists(pk)")
            else:
                self._call("update_item", Key=key, UpdateExpression="SET version = :n, #s = :s",
                           ConditionExpression="version = :e", ExpressionAttributeNames={"#s": "schema"},
                           ExpressionAttributeValues={":n": {"N": str(expected_version + 1)},
                                                      ":e": {"N": str(expected_version)}, ":s": {"S": schema_json}})
        except ConditionFailed:
            raise ConditionFailed(f"schema of {dataset} moved past version {expected_version}") from None


# --------------------------------------------------------------------- helpers
def _translate(op: str, exc: ClientError) -> Exception:
    """A botocore error as the one domain error it means."""
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    if code == "ConditionalCheckFailedException":
        return ConditionFailed(f"DynamoDB {op}: condition failed")
    if code == "TransactionCanceledException":
        reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
        if not reasons:  # some endpoints only put the reasons in the message
            message = error.get("Message", "")
            reasons = [r.strip() for r in message[message.rfind("[") + 1 : message.rfind("]")].split(",")]
        if "ConditionalCheckFailed" in reasons:
            return _Cancelled(reasons)
        if any(r in _THROTTLED for r in reasons):
            return Throttled(f"DynamoDB {op} cancelled: {reasons}")
        if any(r in _UNAVAILABLE for r in reasons):
            return StoreUnavailable(f"DynamoDB {op} cancelled: {reasons}")
        return TerminalError(f"DynamoDB {op} cancelled: {reasons}")
    if code in _THROTTLED:
        return Throttled(f"DynamoDB {op} throttled: {code}")
    if code in _UNAVAILABLE:
        return StoreUnavailable(f"DynamoDB {op} unavailable: {code}")
    if code in {"ResourceNotFoundException", "AccessDeniedException", "UnrecognizedClientException"}:
        return ConfigError(f"DynamoDB {op}: {code}: {error.get('Message', '')}")
    return TerminalError(f"DynamoDB {op} rejected: {code}: {error.get('Message', '')}")


def _add(key: Item, deltas: dict[str, int]) -> dict[str, Any] | None:
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return None
    names = {f"#a{i}": k for i, k in enumerate(deltas)}
    return {"Update": {"Key": key, "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(deltas))),
                       "ExpressionAttributeNames": names,
                       "ExpressionAttributeValues": {f":a{i}": {"N": str(v)} for i, v in enumerate(deltas.values())}}}


def _update_expression(sets: dict[str, object]) -> dict[str, Any]:
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
        " REMOVE " + ", ".join(remove_parts) if remove_parts else "")
    return {"UpdateExpression": expr.strip(), "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}


def _ledger_values(ledger: Ledger) -> dict[str, object]:
    return {"lines": ledger.lines, "blank": ledger.blank, "rows_written": ledger.rows_written,
            "rows_quarantined": ledger.rows_quarantined, "outputs": list(ledger.outputs), "rejection": ledger.rejection}


def _manifest_value(name: str, value: object) -> object:
    if name == "stats":
        return json.dumps(value)
    if isinstance(value, ManifestState):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


def _manifest_field(name: str, value: object) -> object:
    return ManifestState(value) if name == "state" else value


def _file(v: dict[str, Any]) -> FileRecord:
    return FileRecord(
        file_id=v["file_id"], dataset=v["dataset"], uri=v["uri"], version=v["version"], size=v["size"],
        date=v["date"], arrived_at=v["arrived_at"], registered_at=v["registered_at"], state=FileState(v["state"]),
        manifest_id=v.get("manifest_id"), attempts=v.get("attempts", 0),
        ledger=Ledger(v.get("lines", 0), v.get("blank", 0), v.get("rows_written", 0), v.get("rows_quarantined", 0),
                      tuple(v.get("outputs", ())), v.get("rejection")),
        error=v.get("error"), updated_at=v.get("updated_at", 0.0),
    )


def _manifest(v: dict[str, Any], file_ids: list[str]) -> Manifest:
    return Manifest(
        manifest_id=v["manifest_id"], dataset=v["dataset"], date=v["date"], state=ManifestState(v["state"]),
        file_ids=tuple(file_ids), bytes=v["bytes"], created_at=v["created_at"], updated_at=v["updated_at"],
        reason=v.get("reason", ""), runs=v.get("runs", 0), lease_owner=v.get("lease_owner"),
        lease_expires_at=v.get("lease_expires_at"), settled=bool(v.get("settled", False)),
        outputs=tuple(v.get("outputs", ())), stats=json.loads(v.get("stats", "{}")), error=v.get("error"),
    )
