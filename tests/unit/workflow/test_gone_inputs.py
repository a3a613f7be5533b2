"""Inputs that are gone or cannot be read for a while, through the real engine in the real pipeline.

A file deleted before it is converted is REJECTED with the reason ``gone`` (not its content's fault),
and `retry` converts it once it is back; a throttled or reset read of an object is retried, never
REJECTED.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from ndjson2parquet.config.settings import BatchPolicy, RunOptions, StorePolicy
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.domain.errors import TransientError
from ndjson2parquet.domain.records import GONE, ObjectInfo
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.ingest.registration import ingest
from ndjson2parquet.ingest.sources import LocalSource
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.storage.routing import RoutingStorage
from ndjson2parquet.workflow.executor import Layout
from ndjson2parquet.workflow.pipeline import Pipeline
from tests.support.flaky_storage import FlakyStorage


def _pipeline(tmp_path: Path, engine: ArrowEngine) -> Pipeline:
    store = SqliteStore(tmp_path / "state.db", policy=StorePolicy(max_attempts=3))
    options = RunOptions(batch=BatchPolicy(max_files=10), store=store.policy, workers=1, settle_s=0)
    pipeline = Pipeline(store, engine, Layout(str(tmp_path / "lake"), str(tmp_path / "q")), options)
    pipeline.executor.backoff = pipeline.executor.backoff.__class__(base=0.001, cap=0.01, attempts=4)
    return pipeline


def _rows(lake: Path) -> list[dict[str, Any]]:
    rows = [row for part in sorted(lake.rglob("part-*.parquet")) for row in pq.read_table(part).to_pylist()]
    return [{k: v for k, v in row.items() if k not in ("_rescued_data", "_duplicate_keys")} for row in rows]


def test_a_file_deleted_before_conversion_is_rejected_as_gone_and_retry_converts_it_once_back(tmp_path: Path) -> None:
    day = tmp_path / "in" / "2026-11-20"
    day.mkdir(parents=True)
    for name in ("a", "b"):
        (day / f"{name}.ndjson").write_bytes(orjson.dumps({"file": name}) + b"\n")
    pipeline = _pipeline(tmp_path, ArrowEngine())
    ingest(LocalSource(tmp_path / "in"), pipeline.store, pipeline.options.partitioner, now=time.time() + 60)
    doomed = day / "b.ndjson"
    kept, mtime = doomed.read_bytes(), doomed.stat().st_mtime_ns
    doomed.unlink()  # deleted after registration, before conversion (moved away for a while)

    report = pipeline.run(LocalSource(tmp_path / "in"))
    (record,) = pipeline.store.files_by_uri(str(doomed))
    assert record.state == FileState.REJECTED and record.attempts == 0
    assert record.ledger.rejection == f"{GONE} (input not found: {doomed})"
    assert report.rejected_files == [{"uri": str(doomed), "reason": record.ledger.rejection}]
    assert _rows(tmp_path / "lake") == [{"file": "a"}]

    doomed.write_bytes(kept)  # back, the same version (restored with its time)
    os.utime(doomed, ns=(mtime, mtime))
    assert [r.file_id for r in pipeline.store.retry_files([record])] == [record.file_id]
    pipeline.run(LocalSource(tmp_path / "in"))
    (record,) = pipeline.store.files_by_uri(str(doomed))
    assert record.state == FileState.DONE and record.ledger.rows_written == 1
    assert sorted(r["file"] for r in _rows(tmp_path / "lake")) == ["a", "b"]


class _ObjectSource:
    """A landing zone of objects in a FlakyStorage (s3:// URLs)."""

    def __init__(self, storage: FlakyStorage) -> None:
        self.storage = storage

    def describe(self) -> str:
        return "s3://b/"

    def objects(self) -> Iterator[ObjectInfo]:
        for obj in self.storage.list("s3://b/"):
            yield ObjectInfo(obj.url, obj.url[len("s3://b/") :], obj.version, obj.size, obj.modified_at)

    def read_prefix(self, uri: str, n: int) -> bytes:
        return self.storage.read_bytes(uri, 0, n)


def test_an_object_throttled_when_read_is_retried_and_never_rejected(tmp_path: Path) -> None:
    storage = FlakyStorage()
    rows = [{"n": n} for n in range(100)]
    storage.objects["s3://b/2026-11-20/a.ndjson"] = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    storage.failures["s3://b/2026-11-20/a.ndjson"] = [TransientError("SlowDown"), TransientError("connection reset")]
    pipeline = _pipeline(tmp_path, ArrowEngine(RoutingStorage(s3=storage)))

    report = pipeline.run(_ObjectSource(storage))
    (record,) = pipeline.store.files_by_uri("s3://b/2026-11-20/a.ndjson")
    assert record.state == FileState.DONE and record.ledger.rejection is None
    assert storage.reads == 3 and not storage.failures["s3://b/2026-11-20/a.ndjson"]
    assert report.manifests["FAILED"] == 0 and report.rejected_files == []
    assert pipeline.store.counts()["manifests"][ManifestState.SUCCEEDED] == 1
    assert _rows(tmp_path / "lake") == rows
