"""Date, dataset and counter items of the DynamoDB store: counts, seals, late files.

A date's files are counted in sharded counter items (`C#<dataset>#<date>`), which every file write
adds to in its own transaction; a seal is conditional on every shard still holding what was read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ...config.settings import StorePolicy
from ...domain.errors import ConditionFailed
from ...domain.records import DateStatus, Page, SealRecord
from ...domain.states import FileState
from ..codec import decode_seal, encode_seal
from .listings import decode_cursor, encode_cursor
from .requests import DynamoDbRequests, TransactionCancelled
from .table import av, key, plain, py
from .writes import COUNTER_SHARDS


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


class DateItems:
    """Dates, the dataset registry and the counters, through the request runner."""

    def __init__(self, requests: DynamoDbRequests, policy: StorePolicy) -> None:
        self.requests = requests
        self.policy = policy
        self.known: set[tuple[str, str]] = set()  # dates this store registered (their items exist)

    def register(self, dataset: str, date: str) -> None:
        """Make the date and dataset items exist (idempotent), so listings find the date."""
        for pk, sk in (("DS", dataset), (f"D#{dataset}", date)):
            self.requests.call(
                "update_item",
                Key=key(pk, sk),
                UpdateExpression="SET #k = :k",
                ExpressionAttributeNames={"#k": "kind"},
                ExpressionAttributeValues={":k": {"S": pk[:2]}},
            )
        self.known.add((dataset, date))

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Files per state and manifests per state, summed over the global counter shards."""
        files: dict[str, int] = {}
        manifests: dict[str, int] = {}
        shards = self.requests.query_all(
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
        files = _date_counts(self.counter_shards(dataset, date).values())
        seal = decode_seal(values.get("seal_record"))
        return DateStatus(dataset, date, files, values.get("sealed_at"), values.get("late_files", 0), seal)

    def counter_shards(self, dataset: str, date: str) -> dict[str, dict[str, Any]]:
        """A date's counter shards (consistent reads), by shard."""
        items = self.requests.query_all(
            KeyConditionExpression="pk = :p",
            ConsistentRead=True,
            ExpressionAttributeValues={":p": {"S": f"C#{dataset}#{date}"}},
        )
        return {py(item["sk"]): plain(item) for item in items}

    def get(self, dataset: str, date: str) -> DateStatus | None:
        """One date's counts and seal, or None when no file was ever registered for it."""
        item = self.requests.call("get_item", Key=key(f"D#{dataset}", date), ConsistentRead=True).get("Item")
        return self._date_status(item) if item else None

    def query(self, dataset: str | None, limit: int, cursor: str | None) -> Page[DateStatus]:
        """Known dates ordered by (dataset, date), at most `limit`, after the cursor."""
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
                resp = self.requests.call("query", Limit=limit - len(out) + 1, **kwargs)  # one extra: is there more?
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
        registry = self.requests.query_all(
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
            Limit=self.policy.page_size,
        )
        for item in registry:
            yield py(item["sk"])

    def seal(
        self, dataset: str, date: str, sealed_at: float, seal: SealRecord, expect_files: Mapping[str, int]
    ) -> None:
        """Seal the date if every counter shard still holds the counts read (see `StateStore.seal`)."""
        # Registration adds to a counter shard in the transaction that inserts the file, so "every
        # shard still holds the values read" is "no file came or moved": the seal's condition.
        partition = f"C#{dataset}#{date}"
        shards = self.counter_shards(dataset, date)
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
            self.requests.transact([seal_update, *checks])
        except TransactionCancelled:
            raise ConditionFailed(f"{dataset}/{date} changed while it was being sealed") from None

    def open(self, dataset: str, date: str, *, late: bool) -> bool:
        """Clear the date's seal if it is sealed (`late`: count a late file); whether it was sealed."""
        try:
            self.requests.call(
                "update_item",
                Key=key(f"D#{dataset}", date),
                UpdateExpression="REMOVE sealed_at, seal_record ADD late_files :d",
                ConditionExpression="attribute_exists(sealed_at)",
                ExpressionAttributeValues={":d": {"N": str(int(late))}},
            )
        except ConditionFailed:
            return False  # not sealed (or never registered): nothing to open
        return True
