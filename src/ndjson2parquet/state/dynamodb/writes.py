"""Conditional file writes packed into transactions that also keep the sharded counters exact.

A file's state change and the counter ADDs it implies commit together, so counts never need a scan.
A transaction holds at most 100 items; when DynamoDB cancels one because some conditions failed, it
names them: those files are reported lost and the rest is written again.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...domain.errors import ConditionFailed, StoreUnavailable
from .codec import add_item
from .requests import MAX_TRANSACTION, DynamoDbRequests, TransactionCancelled
from .table import key

COUNTER_SHARDS = 8  # counter items per (dataset, date) and globally: spreads hot writes and conflicts


@dataclass
class FileOp:
    """One conditional file write in a transaction, with the counter deltas it implies."""

    file_id: str
    items: list[dict[str, Any]]  # the first item carries the condition
    date: tuple[str, str] | None = None
    delta: dict[str, int] = field(default_factory=dict)  # state -> +/- files


def counter_items(ops: Sequence[FileOp], manifests: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """ADDs to one random shard of each touched date counter and of the global counter."""
    shard = str(random.randrange(COUNTER_SHARDS))
    per_date: dict[tuple[str, str], dict[str, int]] = {}
    total: dict[str, int] = {}
    for op in ops:
        if op.date is None:
            continue
        for state, n in op.delta.items():
            counts = per_date.setdefault(op.date, {})
            counts[f"n_{state}"] = counts.get(f"n_{state}", 0) + n
            total[f"f_{state}"] = total.get(f"f_{state}", 0) + n
    for state, n in (manifests or {}).items():
        total[f"m_{state}"] = total.get(f"m_{state}", 0) + n
    items = [add_item(key(f"C#{ds}#{date}", shard), d) for (ds, date), d in per_date.items()]
    if any(total.values()):
        items.append(add_item(key("COUNT", shard), total))
    return [i for i in items if i is not None]


def pack(ops: list[FileOp], reserved: int) -> list[list[FileOp]]:
    """Split ops into batches whose items, counter items and `reserved` extra items fit one transaction."""
    batches: list[list[FileOp]] = []
    batch: list[FileOp] = []
    dates: set[tuple[str, str]] = set()
    used = reserved + 1  # the global counter
    for op in ops:
        more = 1 if op.date is not None and op.date not in dates and op.delta else 0
        if batch and used + len(op.items) + more > MAX_TRANSACTION:
            batches.append(batch)
            batch, dates, used = [], set(), reserved + 1
            more = 1 if op.date is not None and op.delta else 0
        batch.append(op)
        used += len(op.items) + more
        if more:
            dates.add(op.date)  # type: ignore[arg-type]
    if batch:
        batches.append(batch)
    return batches


class TransactionalWriter:
    """Runs `FileOp`s in transactions through the request runner; independent transactions run side by side."""

    def __init__(self, requests: DynamoDbRequests) -> None:
        self.requests = requests

    def run_ops(self, ops: list[FileOp], guard: dict[str, Any] | None = None) -> set[str]:
        """Apply ops in transactions of ≤ 100 items; return the ids whose condition failed.

        `guard` (a ConditionCheck) rides in every transaction; if it fails, ConditionFailed is raised.
        The transactions touch disjoint files, so they are sent concurrently: a big registration or
        claim costs a few round trips of latency, not one per hundred files.
        """
        batches = pack(ops, 1 if guard else 0)
        lost: set[str] = set()
        for found in self.requests.parallel(lambda batch: self._run_batch(batch, guard), batches):
            lost |= found
        return lost

    def _run_batch(self, batch: list[FileOp], guard: dict[str, Any] | None) -> set[str]:
        lost: set[str] = set()
        while batch:
            items: list[dict[str, Any]] = []
            owner: list[FileOp | None] = []
            for op in batch:
                items.extend(op.items)
                owner.extend([op] * len(op.items))
            if guard:
                items.append({"ConditionCheck": dict(guard)})
                owner.append(None)
            items.extend(counter_items(batch))
            try:
                self.requests.transact(items)
                return lost
            except TransactionCancelled as exc:
                failed = {i for i, code in enumerate(exc.reasons) if code == "ConditionalCheckFailed"}
                if any(owner[i] is None for i in failed if i < len(owner)):
                    raise ConditionFailed("the manifest being claimed for was abandoned") from None
                dropped = {o.file_id for i in failed if i < len(owner) and (o := owner[i]) is not None}
                if not dropped:
                    raise StoreUnavailable(f"transaction cancelled: {exc.reasons}") from exc
                lost |= dropped
                batch = [op for op in batch if op.file_id not in dropped]
        return lost
