"""A local moto server on a free loopback port, and boto3 clients that talk only to it.

Used by every tier that needs AWS APIs (DynamoDB, S3, SQS, Step Functions): real HTTP, real botocore
serialisation, no AWS account. Credentials and region are passed explicitly, so the developer's
~/.aws config and environment are never read.
"""

from __future__ import annotations

import base64
import copy
import functools
import heapq
import inspect
import json
import logging
import os
import socket
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
_DUMMY = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it when binding to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """A started ThreadedMotoServer and its endpoint URL."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer  # imported here: only tiers that need it pay for it

        patch_moto_dynamodb()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
        self.port = free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"

    def client(self, service: str, **config: Any) -> Any:
        """A boto3 client for `service` bound to this server."""
        return make_client(service, self.endpoint_url, **config)

    def stop(self) -> None:
        """Shut the server down."""
        self._server.stop()


def make_client(service: str, endpoint_url: str, *, max_pool: int = 32, retries: int = 1) -> Any:
    """A boto3 client for a local endpoint: explicit dummy credentials, us-east-1, our own retry policy.

    botocore's retries are turned down (`retries` total attempts) so tests see the store's own backoff.
    A fresh Session keeps it independent of environment variables and shared config files.
    """
    session = boto3.session.Session(region_name=REGION, **_DUMMY)
    config = Config(
        region_name=REGION,
        retries={"total_max_attempts": retries, "mode": "standard"},
        max_pool_connections=max_pool,
        connect_timeout=5,
        read_timeout=60,
    )
    return session.client(service, endpoint_url=endpoint_url, config=config)


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    """Start a server for the duration of a `with` block (or a pytest fixture)."""
    server = MotoServer()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------- moto DynamoDB fidelity and speed
_patched = False
_write_lock = threading.RLock()
#: MOTO_INDEX_CHECK=1 compares every indexed GSI query with moto's own full pass (slow; for changes here)
_CHECK_INDEX = os.environ.get("MOTO_INDEX_CHECK") == "1"


def patch_moto_dynamodb() -> None:
    """Make moto's in-process DynamoDB usable for concurrency and volume tests (idempotent).

    Four gaps of moto 5 are closed, without changing what any request means:
    * it deep-copies the WHOLE table before every TransactWriteItems (for rollback), so a transaction
      costs O(table size) and registering 10,000 files takes minutes. Here only the items the
      transaction names are snapshotted and restored on failure.
    * it does not serialise concurrent writes, while DynamoDB makes each conditional write (and each
      transaction) atomic, and its queries can crash on an item changed mid-iteration. Here every
      request holds one lock, which gives item-level atomicity (and more).
    * every Query, on the table or on a GSI, first sorts the WHOLE table (`Table.all_items`), so a
      query costs O(n log n) in the table's size (~200 ms at 4,000 items), where DynamoDB reads only
      the queried partition. Here a query is handed only the items of its partition: a dict lookup
      for the table, and for a GSI an index of hash-key values kept up to date by every write.
      moto still filters, sorts and pages those items exactly as before.
    * item-bearing answers (Query, GetItem, BatchGetItem, Scan) go through a shape-driven serializer
      that costs ~1 ms per item; they are written as plain JSON instead (the same bytes). And the
      request validation parses every UpdateExpression of a transaction again (a claim repeats one
      expression 97 times): its read-only parse is cached by expression text.

    And one server-wide cost: every request lists moto's package folder to recognise a service
    name (`list_of_moto_modules`, ~150 `stat` calls); that listing never changes, so it is kept.
    """
    global _patched
    if _patched:
        return
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    # the module's `copy` is only used for the rollback snapshot of a Table and for single items
    real_deepcopy = copy.deepcopy
    models.copy = types.SimpleNamespace(  # type: ignore[attr-defined]
        deepcopy=lambda obj, *a: obj if isinstance(obj, Table) else real_deepcopy(obj, *a), copy=copy.copy
    )
    backend = models.DynamoDBBackend
    original_transact = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _write_lock:
            touched: list[tuple[Any, Any, Any]] = []
            for entry in transact_items:
                op = next(iter(entry.values()))
                table = self.tables.get(op.get("TableName"))
                found = _key_of(table, op.get("Key") or op.get("Item") or {}) if table is not None else None
                if found is not None:
                    touched.append((table, *found))
            saved = [(table, h, r, real_deepcopy(table.get_item(h, r))) for table, h, r in touched]
            try:
                original_transact(self, transact_items)
            except Exception:
                for table, h, r, item in reversed(saved):
                    bucket = table.items.setdefault(h, {}) if r is not None else table.items
                    if item is None:
                        bucket.pop(r if r is not None else h, None)
                    else:
                        bucket[r if r is not None else h] = item
                raise
            finally:
                for table, h, r in touched:
                    _refresh(table, h, r)

    def locked(name: str, reindex: bool) -> None:
        method = getattr(backend, name)

        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _write_lock:
                try:
                    return method(self, *args, **kwargs)
                finally:
                    if reindex:  # put_item(table_name, item_attrs), update/delete_item(table_name, key)
                        table = self.tables.get(args[0] if args else kwargs.get("table_name"))
                        attrs = args[1] if len(args) > 1 else kwargs.get("item_attrs") or kwargs.get("key")
                        found = _key_of(table, attrs or {}) if table is not None else None
                        if found is not None:
                            _refresh(table, *found)

        setattr(backend, name, call)

    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    # reads too: moto's query iterates the live item dicts, which a concurrent write may change under it
    for name in ("put_item", "update_item", "delete_item"):  # BatchWriteItem calls put_item / delete_item
        locked(name, reindex=True)
    for name in ("batch_write_item", "get_item", "query", "scan", "batch_get_item"):
        if hasattr(backend, name):
            locked(name, reindex=False)
    _narrow_queries(Table)
    _plain_json_items()
    _cache_validation_parses()
    import moto.backends

    modules = tuple(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    _patched = True


def _key_of(table: Any, attrs: dict[str, Any]) -> tuple[Any, Any] | None:
    """(hash, range) DynamoTypes of the item these attributes name, or None."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if table.hash_key_attr not in attrs or (table.range_key_attr and table.range_key_attr not in attrs):
        return None  # not a whole key: moto rejects the request itself
    h = DynamoType(attrs[table.hash_key_attr])
    r = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    return h, r


class _HashIndex:
    """For one table: GSI hash-key attribute → value → keys of the items that carry it."""

    def __init__(self, table: Any) -> None:
        self.names = {
            k["AttributeName"] for gsi in table.global_indexes or [] for k in gsi.schema if k["KeyType"] == "HASH"
        }
        # every write re-files the items it touched (`_refresh`), so the item objects held here are current
        self.members: dict[str, dict[tuple[str, Any], dict[tuple[Any, Any], Any]]] = {n: {} for n in self.names}
        self.values: dict[tuple[Any, Any], dict[str, tuple[str, Any]]] = {}
        for partition in table.items.values():
            for item in partition.values() if table.range_key_attr else [partition]:
                self.refresh((item.hash_key, item.range_key), item)

    def refresh(self, key: tuple[Any, Any], item: Any) -> None:
        """Re-file one item (None: deleted) under its current hash-key values."""
        old = self.values.pop(key, {})
        for name, value in old.items():
            self.members[name].get(value, {}).pop(key, None)
        if item is None:
            return
        new = {}
        for name in self.names:
            attr = item.attrs.get(name)
            if attr is not None:
                new[name] = _value_key(attr)
                self.members[name].setdefault(new[name], {})[key] = item
        if new:
            self.values[key] = new

    def candidates(self, name: str, wanted: Any) -> list[Any] | None:
        """The items whose `name` is `wanted` (None: not an indexed attribute)."""
        if name not in self.names:
            return None
        return list(self.members[name].get(_value_key(wanted), {}).values())


def _sorted(table: Any, hash_attrs: list[str], range_attrs: list[str | None], items: list[Any]) -> list[Any]:
    """moto's `Table.sorted_items` order, compared on plain values (its DynamoType compares are slow)."""
    names = table._generate_attr_to_sort_by(hash_attrs, range_attrs)
    items.sort(key=lambda item: tuple(_sortable(item.attrs.get(name)) for name in names))
    return items


def _sortable(value: Any) -> Any:
    """What moto orders a key attribute by, without its slow `cast_value` for strings."""
    if value is None:
        return ""
    return value.value if value.type == "S" else value.cast_value


def _value_key(value: Any) -> tuple[str, Any]:
    # numbers compare by value ("1" == "1.0"), everything else by its text
    return (value.type, value.cast_value if value.type == "N" else repr(value.value))


def _refresh(table: Any, h: Any, r: Any) -> None:
    index = table.__dict__.get("_hash_index")
    if index is not None:
        index.refresh((h, r), table.get_item(h, r))


def _narrow_queries(table_class: Any) -> None:
    """Make `Table.query` see only its candidate items instead of the sorted whole table."""
    original = table_class.query
    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = signature.bind(self, *args, **kwargs).arguments
        index_name, conditions = call.get("index_name"), call.get("hash_key_conditions") or []
        if index_name:
            if len(conditions) != 1:  # a multi-attribute GSI key: leave it to moto's full pass
                return original(self, *args, **kwargs)
            index = self.__dict__.get("_hash_index")
            if index is None:
                index = self._hash_index = _HashIndex(self)
            candidates = index.candidates(*conditions[0])
            if candidates is None:  # a local secondary index: leave it to moto's full pass
                return original(self, *args, **kwargs)
            if _CHECK_INDEX:
                _check_candidates(self, *conditions[0], candidates)
            candidates = _page_head(self, index_name, call, candidates)
        else:
            candidates = _partition_of(self, call.get("hash_key"))
        # `query` calls `self.all_items()` once to gather what it filters; every request holds the
        # write lock, so shadowing the method on this instance for the call is not seen by others
        self.all_items = lambda: candidates
        self.sorted_items = lambda hash_attrs, range_attrs, items: _sorted(self, hash_attrs, range_attrs, items)
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items, self.sorted_items

    table_class.query = query


def _page_head(table: Any, index_name: str, call: dict[str, Any], candidates: list[Any]) -> list[Any]:
    """For the common first-page GSI query (`hash = :h [AND range > :s]`, forward, with a Limit), only
    the items moto would walk: the first `Limit + 1` in index order (the extra one is how it knows to
    return a LastEvaluatedKey; a FilterExpression applies after the Limit, in moto as in DynamoDB).
    Any other query gets every candidate."""
    limit, comparison, bounds = call.get("limit"), call.get("range_comparison"), call.get("range_objs") or []
    ranges = [k["AttributeName"] for k in table.get_index(index_name).schema if k["KeyType"] == "RANGE"]
    if (
        call.get("exclusive_start_key")
        or call.get("scan_index_forward") is False
        or call.get("filter_kwargs")
        or not isinstance(limit, int)
        or len(ranges) != 1
        or len(call.get("range_key_conditions") or []) > 1
        or comparison not in (None, ">")
        or any(b.type != "S" for b in bounds)
    ):
        return candidates
    floor = bounds[0].value if comparison == ">" else None
    ranked = [
        (value.value, item)
        for item in candidates
        if (value := item.attrs.get(ranges[0])) is not None
        and value.type == "S"
        and (floor is None or value.value > floor)
    ]
    if len(ranked) > limit + 1:
        # the index orders one partition by its range key first: only the items up to the
        # (Limit + 1)-th range value (ties included) can be in the head, and sorting all of a
        # 10,000-item partition on every query was most of a claim race's time
        cutoff = heapq.nsmallest(limit + 1, (value for value, _ in ranked))[-1]
        ranked = [(value, item) for value, item in ranked if value <= cutoff]
    head = [item for _, item in ranked]
    names = [call["hash_key_conditions"][0][0], table.hash_key_attr]
    _sorted(table, names, [ranges[0], table.range_key_attr], head)
    return head[: limit + 1]


def _check_candidates(table: Any, name: str, wanted: Any, candidates: list[Any]) -> None:
    full = [i for i in table.all_items() if (value := i.attrs.get(name)) is not None and value == wanted]
    assert sorted(map(id, full)) == sorted(map(id, candidates)), f"GSI index out of date for {name} = {wanted}"


def _partition_of(table: Any, hash_key: Any) -> list[Any]:
    """The items of one table partition: a dict lookup, as DynamoDB reads one partition."""
    partition = table.items.get(hash_key) if hash_key is not None else None
    if partition is None:
        return []
    return list(partition.values()) if table.range_key_attr else [partition]


#: operations whose answer is items (already AttributeValue JSON): the shape-driven serializer walks
#: every attribute of every item in Python (~1 ms an item); plain JSON writes the same bytes
_ITEM_OPERATIONS = frozenset({"Query", "GetItem", "BatchGetItem", "Scan"})


def _plain_json_items() -> None:
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name not in _ITEM_OPERATIONS:
            return original(self, context)
        body = json.dumps(self.result, default=_binary)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    DynamoResult.execute_result = execute_result


def _cache_validation_parses() -> None:
    # only the request validation in `responses` is cached: it reads the tree (`find_clauses`), while
    # the backend's own parse, whose tree is rewritten while applying the update, stays uncached
    import moto.dynamodb.responses as responses

    parser = responses.UpdateExpressionParser
    responses.UpdateExpressionParser = types.SimpleNamespace(make=functools.lru_cache(maxsize=256)(parser.make))


def _binary(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
