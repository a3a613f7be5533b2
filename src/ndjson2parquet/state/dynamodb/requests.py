"""The request layer of the DynamoDB store: one place where botocore is called, retried and translated.

Every request goes through `DynamoDbRequests.request`: retried with `Backoff` (full jitter) while
DynamoDB throttles or a transaction conflicts, and every botocore error becomes exactly one domain
error. Batch reads and writes retry their unprocessed remainder. Independent queries (the shards of
a listing) run on a small thread pool, so a listing costs one round trip of latency, not one per shard.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ...backoff import Backoff
from ...domain.errors import ConditionFailed, ConfigError, StoreUnavailable, TerminalError, Throttled
from .table import Item

T = TypeVar("T")
R = TypeVar("R")

MAX_TRANSACTION = 100  # items in one TransactWriteItems
BATCH_WRITE = 25  # items in one BatchWriteItem
BATCH_GET = 100  # keys in one BatchGetItem
QUERY_THREADS = 8  # concurrent requests of one store (a listing queries every shard at once)
_POOL_PREFIX = "dynamodb-store"

_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionConflict",
    "TransactionConflictException",
    "TransactionInProgressException",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
}
_UNAVAILABLE = {"InternalServerError", "ServiceUnavailable", "InternalFailure"}
_MISCONFIGURED = {"ResourceNotFoundException", "AccessDeniedException", "UnrecognizedClientException"}


class TransactionCancelled(TerminalError):
    """A transaction cancelled because some of its conditions failed: `reasons[i]` is item i's code."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons


def translate_error(op: str, exc: ClientError) -> Exception:
    """A botocore error as the one domain error it means (transient ones are retried by `Backoff`)."""
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
            return TransactionCancelled(reasons)
        if any(r in _THROTTLED for r in reasons):
            return Throttled(f"DynamoDB {op} cancelled: {reasons}")
        if any(r in _UNAVAILABLE for r in reasons):
            return StoreUnavailable(f"DynamoDB {op} cancelled: {reasons}")
        return TerminalError(f"DynamoDB {op} cancelled: {reasons}")
    if code in _THROTTLED:
        return Throttled(f"DynamoDB {op} throttled: {code}")
    if code in _UNAVAILABLE:
        return StoreUnavailable(f"DynamoDB {op} unavailable: {code}")
    if code in _MISCONFIGURED:
        return ConfigError(f"DynamoDB {op}: {code}: {error.get('Message', '')}")
    return TerminalError(f"DynamoDB {op} rejected: {code}: {error.get('Message', '')}")


class DynamoDbRequests:
    """Requests on one table through one (thread-safe) boto3 client, retried and translated.

    Every other part of the DynamoDB store holds this runner and sends its requests through it.
    """

    def __init__(self, table_name: str, client: Any, backoff: Backoff) -> None:
        self.client = client
        self.table = table_name
        self.backoff = backoff
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def request(self, op: str, **kwargs: Any) -> dict[str, Any]:
        """One request, retried with backoff while throttled; errors become domain errors exactly once."""

        def attempt() -> dict[str, Any]:
            try:
                return getattr(self.client, op)(**kwargs)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    message = (
                        f"no DynamoDB table {self.table!r}:"
                        f" create it with `ndjson2parquet init-state --state dynamodb://{self.table}`"
                    )
                    raise ConfigError(message) from exc
                raise translate_error(op, exc) from exc
            except BotoCoreError as exc:
                raise StoreUnavailable(f"DynamoDB {op} failed: {exc}") from exc

        return self.backoff.call(attempt)

    def call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        """A single-table request (GetItem, PutItem, UpdateItem, Query) on our table."""
        return self.request(op, TableName=self.table, **kwargs)

    def transact(self, items: list[dict[str, Any]]) -> None:
        """One TransactWriteItems (≤ 100 items); a failed condition raises `TransactionCancelled`."""
        for item in items:
            next(iter(item.values()))["TableName"] = self.table
        self.request("transact_write_items", TransactItems=items)

    def query_all(self, **kwargs: Any) -> Iterator[Item]:
        """Every item of a query, page by page (used on small partitions: counters, chunks, uri versions)."""
        while True:
            resp = self.call("query", **kwargs)
            yield from resp["Items"]
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def batch_write(self, requests: list[dict[str, Any]]) -> None:
        """BatchWriteItem in 25s, retrying `UnprocessedItems` with backoff until none is left."""
        for start in range(0, len(requests), BATCH_WRITE):
            todo = requests[start : start + BATCH_WRITE]
            for attempt in range(self.backoff.attempts):
                resp = self.request("batch_write_item", RequestItems={self.table: todo})
                todo = resp.get("UnprocessedItems", {}).get(self.table, [])
                if not todo:
                    break
                time.sleep(self.backoff.delay(attempt))
            else:
                raise Throttled(f"{len(todo)} item(s) still unprocessed after {self.backoff.attempts} attempts")

    def batch_get(self, keys: list[Item], attributes: Sequence[str] = ()) -> list[Item]:
        """Strongly consistent BatchGetItem in 100s, retrying `UnprocessedKeys` with backoff."""
        out: list[Item] = []
        for start in range(0, len(keys), BATCH_GET):
            request: dict[str, Any] = {"Keys": keys[start : start + BATCH_GET], "ConsistentRead": True}
            if attributes:
                request["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(attributes)))
                request["ExpressionAttributeNames"] = {f"#p{i}": a for i, a in enumerate(attributes)}
            for attempt in range(self.backoff.attempts):
                resp = self.request("batch_get_item", RequestItems={self.table: request})
                out.extend(resp.get("Responses", {}).get(self.table, []))
                left = resp.get("UnprocessedKeys", {}).get(self.table)
                if not left:
                    break
                request = left
                time.sleep(self.backoff.delay(attempt))
            else:
                raise Throttled(f"keys still unprocessed after {self.backoff.attempts} attempts")
        return out

    def parallel(self, fn: Callable[[T], R], args: Sequence[T]) -> list[R]:
        """fn over args on the store's thread pool, results in order.

        Every call finishes before this returns or raises (the first error, after all ended), so no
        request of a failed operation is still in flight when its caller moves on. One argument, or a
        call from a pool thread itself (a pool waiting on itself could deadlock), runs inline.
        """
        if len(args) <= 1 or threading.current_thread().name.startswith(_POOL_PREFIX):
            return [fn(a) for a in args]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(QUERY_THREADS, thread_name_prefix=_POOL_PREFIX)
            pool = self._pool
        futures = [pool.submit(fn, a) for a in args]
        wait(futures)
        return [f.result() for f in futures]

    def close(self) -> None:
        """Stop the query threads (the boto3 client needs no closing)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
