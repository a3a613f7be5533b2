"""Bounded, paginated listings over sharded GSI partitions, merged into one order.

A listing (pending files of a date, live manifests, manifests of a date) reads one or more GSI
partitions that share a sort key of `<time>#<id>`. Each page is a lazy k-way merge: every shard is
asked for a fair share of the page at once (in parallel), and only a shard that may still hold
items before the page's end is asked again. So a page of `limit` items reads about `limit` items,
not `limit` per shard (DynamoDB bills each item a query returns, and the network carries it).

The cursor is the last sort key returned: every shard resumes after it, so items are neither
skipped nor repeated, whatever was claimed or added between two pages.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Any

from .requests import DynamoDbRequests
from .table import Item

FAIR_SHARE_SLACK = 1.5  # first ask per shard: 1.5x its even share, so one round is usually enough
MIN_SHARD_ASK = 4


@dataclass
class _Shard:
    """What has been read of one partition for the current page."""

    partition: str
    items: list[Item] = field(default_factory=list)
    start: dict[str, Any] | None = None  # DynamoDB's LastEvaluatedKey: where to resume
    done: bool = False  # nothing past `items` in this partition


def encode_cursor(after: str) -> str:
    """An opaque cursor for the sort key `after`."""
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    """The sort key a cursor resumes after (None: from the start)."""
    return json.loads(base64.urlsafe_b64decode(cursor))["after"] if cursor else None


class ShardedListings:
    """Merged pages over GSI partitions, read through the request runner."""

    def __init__(self, requests: DynamoDbRequests) -> None:
        self.requests = requests

    def merged_page(
        self, index: str, hash_name: str, sort_name: str, partitions: list[str], limit: int, cursor: str | None
    ) -> tuple[list[Item], str | None]:
        """At most `limit` items of `partitions`, in sort-key order, after the cursor; and the next cursor."""
        after = decode_cursor(cursor)
        shards = [_Shard(p) for p in partitions]
        ask = min(limit, max(MIN_SHARD_ASK, math.ceil(limit * FAIR_SHARE_SLACK / len(shards))))
        todo = shards
        while True:
            self.requests.parallel(lambda s: self._read_more(s, index, hash_name, sort_name, after, ask), todo)
            open_shards = [s for s in shards if not s.done]
            # a shard that is not done may hold more items past its last one: nothing after the
            # smallest such last key is known to be complete yet
            bound = min((s.items[-1][sort_name]["S"] if s.items else "" for s in open_shards), default=None)
            merged = sorted((i for s in shards for i in s.items), key=lambda i: i[sort_name]["S"])
            ready = merged if bound is None else [i for i in merged if i[sort_name]["S"] <= bound]
            if len(ready) >= limit or bound is None:
                page = ready[:limit]
                more = len(ready) > limit or bound is not None
                return page, encode_cursor(page[-1][sort_name]["S"]) if more and page else None
            # the page is short: read on only where an item may still come before its end
            end = merged[limit - 1][sort_name]["S"] if len(merged) >= limit else None
            todo = [s for s in open_shards if end is None or not s.items or s.items[-1][sort_name]["S"] < end]

    def _read_more(
        self, shard: _Shard, index: str, hash_name: str, sort_name: str, after: str | None, limit: int
    ) -> None:
        """One bounded query on one shard, resuming where it stopped."""
        condition, names = "#h = :h", {"#h": hash_name}
        values: dict[str, Any] = {":h": {"S": shard.partition}}
        if after is not None:
            condition += " AND #s > :a"
            names["#s"] = sort_name
            values[":a"] = {"S": after}
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        if shard.start is not None:
            kwargs["ExclusiveStartKey"] = shard.start
        resp = self.requests.call("query", **kwargs)
        shard.items.extend(resp["Items"])
        shard.start = resp.get("LastEvaluatedKey")
        shard.done = shard.start is None
