"""The manifest primitives of the DynamoDB store: claims, manifest transitions and manifest listings.

A claim of up to 97 files is ONE transaction: the manifest, every file's PENDING → CLAIMED and two
counter items. A bigger claim cannot be atomic in one request, so it follows the CLAIMING protocol:
the manifest is written first as CLAIMING (with its file list in chunk items), the files are claimed
in guarded transactions, and only then does it become CREATED. A claimer that loses any file, or dies,
leaves a CLAIMING manifest that `abandon_claim` (or recovery, through its lease) releases.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from ...config.settings import StorePolicy
from ...domain.errors import ConditionFailed
from ...domain.records import Manifest, Page
from ...domain.states import FileState, ManifestState
from ..changes import ManifestChange
from ..rules import release_claim_change
from .codec import (
    date_partition,
    file_key,
    manifest_from,
    manifest_item,
    manifest_key,
    manifest_value,
    update_expression,
)
from .files import FileItems
from .listings import ShardedListings
from .requests import DynamoDbRequests, TransactionCancelled
from .table import BY_DATE_INDEX, LIVE_INDEX, Item, av, encode_item, plain, py
from .writes import FileOp, TransactionalWriter, counter_items

INLINE_IDS = 97  # a claim this small is one transaction: manifest + files + 2 counter items = 100
CHUNK_IDS = 2000  # file ids per manifest list item (~70 KB, far below the 400 KB item limit)
_CLAIMING = {":claiming": {"S": ManifestState.CLAIMING.value}}


class ManifestItems:
    """Claims, manifest state changes and manifest reads, through the runner, writer and listings."""

    def __init__(
        self,
        requests: DynamoDbRequests,
        writer: TransactionalWriter,
        listings: ShardedListings,
        files: FileItems,
        policy: StorePolicy,
    ) -> None:
        self.requests = requests
        self.writer = writer
        self.listings = listings
        self.files = files
        self.policy = policy

    # ----------------------------------------------------------------- claims
    def create(self, manifest: Manifest) -> None:
        """Store the manifest and claim its files (one transaction, or the CLAIMING protocol)."""
        ids = manifest.file_ids
        self._check_still_pending(ids)
        ops = [self._claim_op(fid, manifest) for fid in ids]
        shards = self.policy.pending_shards
        if len(ids) <= INLINE_IDS:
            put = {
                "Put": {
                    "Item": manifest_item(manifest, inline=True, shards=shards),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            try:
                items = [put] + [op.items[0] for op in ops]
                self.requests.transact(items + counter_items(ops, {manifest.state.value: 1}))
            except TransactionCancelled as exc:
                raise ConditionFailed(f"a file of the claim is no longer PENDING: {exc.reasons}") from None
            return
        # too big for one transaction: the CLAIMING protocol (recovery finds it by its lease and live key)
        claiming = manifest.evolve(state=ManifestState.CLAIMING)
        meta = manifest_key(manifest.manifest_id)
        self.requests.transact(
            [
                {
                    "Put": {
                        "Item": manifest_item(claiming, inline=False, shards=shards),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                *counter_items([], {ManifestState.CLAIMING.value: 1}),
            ]
        )
        self._put_file_list(manifest)
        guard = {
            "Key": meta,
            "ConditionExpression": "#st = :claiming AND attribute_not_exists(abandoned)",
            "ExpressionAttributeNames": {"#st": "state"},
            "ExpressionAttributeValues": dict(_CLAIMING),
        }
        try:
            lost = self.writer.run_ops(ops, guard=guard)
        except ConditionFailed:
            lost = {"(abandoned)"}
        if lost:
            self._release_claim(manifest.manifest_id)
            raise ConditionFailed(f"{len(lost)} file(s) of the claim are no longer PENDING")
        finish = {
            "Key": meta,
            "UpdateExpression": "SET #st = :created",
            "ConditionExpression": "#st = :claiming AND attribute_not_exists(abandoned)",
            "ExpressionAttributeNames": {"#st": "state"},
            "ExpressionAttributeValues": {":created": {"S": manifest.state.value}, **_CLAIMING},
        }
        moved = {ManifestState.CLAIMING.value: -1, manifest.state.value: 1}
        try:
            self.requests.transact([{"Update": finish}, *counter_items([], moved)])
        except TransactionCancelled:
            raise ConditionFailed(f"{manifest.manifest_id} was abandoned while claiming") from None

    def _check_still_pending(self, file_ids: Sequence[str]) -> None:
        """Fail a claim whose files are visibly taken already, for the price of a read.

        Only an optimisation (the claim's conditional writes decide): racing claimers read the same
        oldest files, and a listing comes from an eventually consistent GSI, so many claims are lost.
        A consistent BatchGetItem of one attribute costs ~1 read unit per file; a cancelled
        transaction costs 2 write units per item, and a lost CLAIMING claim far more.
        """
        found = self.requests.batch_get([file_key(fid) for fid in file_ids], ("state",))
        taken = len(file_ids) - sum(1 for item in found if item["state"]["S"] == FileState.PENDING.value)
        if taken:
            raise ConditionFailed(f"{taken} file(s) of the claim are no longer PENDING")

    def _claim_op(self, file_id: str, manifest: Manifest) -> FileOp:
        """PENDING → CLAIMED: the waiting key goes (the file leaves every listing at once)."""
        update = {
            "Key": file_key(file_id),
            "UpdateExpression": "SET #st = :claimed, manifest_id = :m, updated_at = :t REMOVE wpk, wsk",
            "ConditionExpression": "#st = :pending",
            "ExpressionAttributeNames": {"#st": "state"},
            "ExpressionAttributeValues": {
                ":claimed": {"S": FileState.CLAIMED.value},
                ":pending": {"S": FileState.PENDING.value},
                ":m": {"S": manifest.manifest_id},
                ":t": av(manifest.created_at),
            },
        }
        return FileOp(
            file_id,
            [{"Update": update}],
            (manifest.dataset, manifest.date),
            {FileState.PENDING.value: -1, FileState.CLAIMED.value: 1},
        )

    def abandon_claim(self, manifest: Manifest) -> None:
        """Release the files of a CLAIMING manifest and delete it."""
        self._release_claim(manifest.manifest_id)

    def _release_claim(self, manifest_id: str) -> None:
        """Mark a CLAIMING manifest abandoned (no claim can join it after), release its files, delete it."""
        meta = manifest_key(manifest_id)
        try:
            self.requests.call(
                "update_item",
                Key=meta,
                UpdateExpression="SET abandoned = :t",
                ConditionExpression="#st = :claiming",
                ExpressionAttributeNames={"#st": "state"},
                ExpressionAttributeValues={":t": {"BOOL": True}, **_CLAIMING},
            )
        except ConditionFailed:
            if self.get(manifest_id) is None:
                return  # already gone: an earlier abandon finished
            raise
        chunks = self._chunks(manifest_id)
        ids = [fid for c in chunks for fid in py(c["ids"])]
        self.files.update([release_claim_change(fid, manifest_id) for fid in ids])
        self.requests.batch_write([{"DeleteRequest": {"Key": {"pk": c["pk"], "sk": c["sk"]}}} for c in chunks])
        delete = {
            "Key": meta,
            "ConditionExpression": "#st = :claiming",
            "ExpressionAttributeNames": {"#st": "state"},
            "ExpressionAttributeValues": dict(_CLAIMING),
        }
        with contextlib.suppress(TransactionCancelled):  # deleted meanwhile by a concurrent abandon
            self.requests.transact([{"Delete": delete}, *counter_items([], {ManifestState.CLAIMING.value: -1})])

    def put(self, manifest: Manifest) -> None:
        """A settled manifest as it is (an import): its file-list items first when they are not inline."""
        inline = len(manifest.file_ids) <= INLINE_IDS
        if not inline:
            self._put_file_list(manifest)
        put = {
            "Put": {
                "Item": manifest_item(manifest, inline=inline, shards=self.policy.pending_shards),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        try:
            self.requests.transact([put, *counter_items([], {manifest.state.value: 1})])
        except TransactionCancelled:
            raise ConditionFailed(f"manifest {manifest.manifest_id} exists already") from None

    def _put_file_list(self, manifest: Manifest) -> None:
        """The file-list items of a manifest too big to hold its ids inline."""
        ids = manifest.file_ids
        chunks = [
            {"pk": f"M#{manifest.manifest_id}", "sk": f"C#{n:05d}", "ids": list(ids[s : s + CHUNK_IDS])}
            for n, s in enumerate(range(0, len(ids), CHUNK_IDS))
        ]
        self.requests.batch_write([{"PutRequest": {"Item": encode_item(c)}} for c in chunks])

    def known(self, manifest_ids: Sequence[str]) -> set[str]:
        """The ids among these that name a stored manifest."""
        found = self.requests.batch_get([manifest_key(mid) for mid in dict.fromkeys(manifest_ids)], ("manifest_id",))
        return {py(item["manifest_id"]) for item in found}

    # ----------------------------------------------------------------- reads
    def _chunks(self, manifest_id: str, **kwargs: Any) -> list[Item]:
        """The file-list items of a big manifest, in order."""
        return list(
            self.requests.query_all(
                KeyConditionExpression="pk = :p AND begins_with(sk, :c)",
                ExpressionAttributeValues={":p": {"S": f"M#{manifest_id}"}, ":c": {"S": "C#"}},
                ConsistentRead=True,
                **kwargs,
            )
        )

    def _manifest_of(self, meta: Item, chunks: list[Item] | None = None) -> Manifest:
        """A meta item as its manifest, reading the file-list items when the ids are not inline."""
        values = plain(meta)
        if "file_ids" in values:
            ids = values["file_ids"]
        else:
            if chunks is None:
                chunks = self._chunks(values["manifest_id"])
            ids = [fid for c in sorted(chunks, key=lambda c: c["sk"]["S"]) for fid in py(c["ids"])]
        return manifest_from(values, ids)

    def get(self, manifest_id: str) -> Manifest | None:
        """One manifest (consistent reads), or None."""
        items = list(
            self.requests.query_all(
                KeyConditionExpression="pk = :p",
                ConsistentRead=True,
                ExpressionAttributeValues={":p": {"S": f"M#{manifest_id}"}},
            )
        )
        meta = [i for i in items if i["sk"]["S"] == "M"]
        return self._manifest_of(meta[0], [i for i in items if i["sk"]["S"] != "M"]) if meta else None

    def live(self, limit: int, cursor: str | None) -> Page[Manifest]:
        """One merged page of unsettled manifests, oldest first."""
        partitions = [f"LIVE#{s}" for s in range(self.policy.pending_shards)]
        items, next_cursor = self.listings.merged_page(LIVE_INDEX, "lpk", "lsk", partitions, limit, cursor)
        return Page([self._manifest_of(i) for i in items], next_cursor)

    def of_date(self, dataset: str, date: str, limit: int, cursor: str | None) -> Page[Manifest]:
        """One page of a (dataset, date)'s manifests in any state, oldest first."""
        # one GSI partition per (dataset, date): a few hundred manifests a day, written once each,
        # so it is neither hot nor large; GSI reads are eventually consistent, fine for `verify`
        partitions = [date_partition(dataset, date)]
        items, next_cursor = self.listings.merged_page(BY_DATE_INDEX, "mdk", "msk", partitions, limit, cursor)
        return Page([self._manifest_of(i) for i in items], next_cursor)

    # ----------------------------------------------------------------- transitions
    def update(
        self,
        manifest_id: str,
        expect_states: frozenset[ManifestState],
        expect_owner: str | None,
        change: ManifestChange,
    ) -> Manifest:
        """Apply the change if the manifest is in one of the expected states (and held by the owner)."""
        values = change.values()
        sets = {name: manifest_value(name, value) for name, value in values.items()}
        if values.get("settled"):
            sets.update({"lpk": None, "lsk": None})  # off the live index: recovery never sees it again
        failure = ConditionFailed(f"manifest {manifest_id} is not in {sorted(expect_states)} held by {expect_owner}")
        if isinstance(change.state, ManifestState):
            done = self._move_manifest(manifest_id, sets, expect_states, expect_owner, change, failure)
        else:
            update = self._manifest_condition(sets, expect_states, expect_owner)
            try:
                resp = self.requests.call(
                    "update_item", Key=manifest_key(manifest_id), ReturnValues="ALL_NEW", **update
                )
            except ConditionFailed:
                raise failure from None
            done = self._manifest_of(resp["Attributes"])
        if "expires_at" in values and len(done.file_ids) > INLINE_IDS:
            self._expire_chunks(manifest_id, values["expires_at"])
        return done

    def _move_manifest(
        self,
        manifest_id: str,
        sets: dict[str, object],
        expect_states: frozenset[ManifestState],
        expect_owner: str | None,
        change: ManifestChange,
        failure: ConditionFailed,
    ) -> Manifest:
        """A state change moves the manifest counters in the same transaction, so the exact current
        state is read first and made the condition; if it moved between two expected states, look again."""
        target = ManifestState(change.state)  # type: ignore[arg-type]
        for _ in range(len(ManifestState) + 1):
            current = self.get(manifest_id)
            if (
                current is None
                or current.state not in expect_states
                or (expect_owner is not None and current.lease_owner != expect_owner)
            ):
                raise failure
            update = self._manifest_condition(sets, frozenset({current.state}), expect_owner)
            moved = {current.state.value: -1, target.value: 1}
            try:
                self.requests.transact(
                    [{"Update": {"Key": manifest_key(manifest_id), **update}}, *counter_items([], moved)]
                )
            except TransactionCancelled:
                continue
            return current.evolve(**change.manifest_fields())
        raise failure

    def _manifest_condition(
        self, sets: dict[str, object], states: frozenset[ManifestState], owner: str | None
    ) -> dict[str, Any]:
        update = update_expression(sets)
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
        for c in self._chunks(manifest_id, ProjectionExpression="pk, sk"):
            self.requests.call(
                "update_item",
                Key={"pk": c["pk"], "sk": c["sk"]},
                UpdateExpression="SET expires_at = :e",
                ExpressionAttributeValues={":e": av(expires_at)},
            )
