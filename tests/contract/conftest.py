"""One contract suite, two stores: every test here runs on SQLite and on DynamoDB (moto)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ndjson2parquet.backoff import Backoff
from ndjson2parquet.config.settings import StorePolicy
from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.state.base import StateStore
from ndjson2parquet.state.dynamodb import DynamoDbStore
from ndjson2parquet.state.dynamodb.table import create_table
from ndjson2parquet.state.sqlite import SqliteStore
from tests.support.moto_server import MotoServer

DATASET, DATE = "events", "2026-11-25"
FAST = Backoff(base=0.01, cap=0.5, attempts=10)


StoreFactory = Callable[..., StateStore]


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which store the test runs on."""
    return str(request.param)


@pytest.fixture
def store_factory(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    """Build stores over ONE fresh database (a file / a table): several stores share it, as processes do."""
    made: list[StateStore] = []
    if backend == "sqlite":
        path = tmp_path / "state.db"

        def make(**policy: Any) -> StateStore:
            store = SqliteStore(path, policy=StorePolicy(**policy), backoff=FAST)
            made.append(store)
            return store
    else:
        server: MotoServer = request.getfixturevalue("moto")
        table = f"state-{uuid.uuid4().hex[:12]}"
        create_table(server.client("dynamodb"), table)

        def make(**policy: Any) -> StateStore:
            store = DynamoDbStore(table, client=server.client("dynamodb"), policy=StorePolicy(**policy), backoff=FAST)
            made.append(store)
            return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> StateStore:
    """A store over a fresh, empty database."""
    return store_factory()


def records(
    n: int, *, dataset: str = DATASET, date: str = DATE, start: float = 1_000.0, prefix: str = "k", version: str = "v1"
) -> list[FileRecord]:
    """n PENDING records registered one second apart, oldest first."""
    return [
        FileRecord.new(
            dataset, date, ObjectInfo(f"s3://in/{prefix}{i:06d}", f"{prefix}{i}", version, 100 + i, 1.0), start + i
        )
        for i in range(n)
    ]
