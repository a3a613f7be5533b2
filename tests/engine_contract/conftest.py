"""The engine contract suite's cases: every engine, on every storage kind.

A case (`engine_case`) is an engine built for one storage kind, the root URL its inputs, lake and
quarantine live under (a fresh temp folder, or a fresh prefix of a bucket on the moto server), and the
suite's own reader of that storage. Adding an engine is one entry in `ENGINES`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import Engine
from ndjson2parquet.storage import Storage
from tests.engine_contract.case import EngineCase, LocalObjects, S3Objects
from tests.support.moto_server import MotoServer

BUCKET = "engine-contract"


def arrow_engine(storage: Storage | None) -> Engine:
    """The in-process Arrow engine, reading and writing through `storage` (None: local paths)."""
    return ArrowEngine() if storage is None else ArrowEngine(storage=storage)


def spark_engine(storage: Storage | None) -> Engine:
    """The Spark engine on the tests' local[2] session (one per process), executors building `storage`'s kind."""
    from ndjson2parquet.conversion.spark import SparkEngine
    from tests.support.spark import shared_session

    return SparkEngine(spark=shared_session(), storage=storage)


#: engine name -> how to build it for a storage (None: the local file system)
ENGINES: dict[str, Callable[[Storage | None], Engine]] = {"arrow": arrow_engine, "spark": spark_engine}

#: storage kind -> the marks of its cases
STORAGES: dict[str, tuple[pytest.MarkDecorator, ...]] = {"local": (), "s3": ()}

CASES = [
    pytest.param((engine, kind), id=f"{engine}-{kind}", marks=marks)
    for engine in ENGINES
    for kind, marks in STORAGES.items()
]


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[Any]:
    """One moto server for the session's S3 cases, the bucket every case takes a prefix of, and one
    S3 client (building a boto3 client costs about a second: once per session, not per case)."""
    server = MotoServer()
    client = server.client("s3")
    client.create_bucket(Bucket=BUCKET)
    try:
        yield client
    finally:
        server.stop()


def s3_storage(client: Any) -> Storage:
    """The project's S3 storage over the moto server's client (what a deployed engine is given)."""
    from ndjson2parquet.storage.s3 import S3Storage  # only the S3 cases need it

    return S3Storage(client=client)


@pytest.fixture(params=CASES)
def engine_case(request: pytest.FixtureRequest, tmp_path: Path) -> EngineCase:
    """One engine on one storage kind, with an empty root of its own."""
    engine_name, storage = request.param
    build = ENGINES[engine_name]
    if storage == "local":
        return EngineCase(engine_name, storage, str(tmp_path / "case"), LocalObjects(), lambda: build(None))
    client = request.getfixturevalue("moto_s3")
    root = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    return EngineCase(engine_name, storage, root, S3Objects(client), lambda: build(s3_storage(client)))
