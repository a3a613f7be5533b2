"""A local moto server on a free loopback port, and boto3 clients that talk only to it.

Used by every tier that needs AWS APIs (DynamoDB, S3, SQS, Step Functions): real HTTP, real botocore
serialisation, no AWS account. Credentials and region are passed explicitly, so the developer's
~/.aws config and environment are never read.
"""

from __future__ import annotations

import copy
import logging
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


def patch_moto_dynamodb() -> None:
    """Make moto's in-process DynamoDB usable for concurrency and volume tests (idempotent).

    Two gaps of moto 5 are closed, without changing what any request means:
    * it deep-copies the WHOLE table before every TransactWriteItems (for rollback), so a transaction
      costs O(table size) and registering 10,000 files takes minutes. Here only the items the
      transaction names are snapshotted and restored on failure.
    * it does not serialise concurrent writes, while DynamoDB makes each conditional write (and each
      transaction) atomic, and its queries can crash on an item changed mid-iteration. Here every
      request holds one lock, which gives item-level atomicity (and more).
    """
    global _patched
    if _patched:
        return
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    # the module's `copy` is only used for the rollback snapshot of a Table and for single items
    real_deepcopy = copy.deepcopy
    models.copy = types.SimpleNamespace(  # type: ignore[attr-defined]
        deepcopy=lambda obj, *a: obj if isinstance(obj, Table) else real_deepcopy(obj, *a), copy=copy.copy
    )
    backend = models.DynamoDBBackend
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _write_lock:
            saved: list[tuple[Any, Any, Any, Any]] = []
            for entry in transact_items:
                op = next(iter(entry.values()))
                table = self.tables.get(op.get("TableName"))
                if table is None:
                    continue
                attrs = op.get("Key") or op.get("Item") or {}
                if table.hash_key_attr not in attrs:
                    continue
                h = DynamoType(attrs[table.hash_key_attr])
                r = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
                saved.append((table, h, r, real_deepcopy(table.get_item(h, r))))
            try:
                original(self, transact_items)
            except Exception:
                for table, h, r, item in reversed(saved):
                    bucket = table.items[h] if r is not None else table.items
                    key = r if r is not None else h
                    if item is None:
                        bucket.pop(key, None)
                    else:
                        bucket[key] = item
                raise

    def locked(name: str) -> None:
        method = getattr(backend, name)

        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _write_lock:
                return method(self, *args, **kwargs)

        setattr(backend, name, call)

    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    # reads too: moto's query iterates the live item dicts, which a concurrent write may change under it
    for name in ("put_item", "update_item", "delete_item", "batch_write_item", "get_item", "query", "scan",
                 "batch_get_item"):
        if hasattr(backend, name):
            locked(name)
    _patched = True
