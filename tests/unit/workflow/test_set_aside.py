"""Files rejected for their content are set aside: their bytes, as stored, copied into the quarantine
with a sidecar saying why, named in their reason; compensation and a put-back remove the copies; a
file that was gone has none, and a file put back whose landing copy is gone says where its copy is."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import orjson

from ndjson2parquet.config.settings import BatchPolicy, RunOptions, StorePolicy
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.domain.records import GONE, FileRecord
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.ingest.registration import ingest
from ndjson2parquet.ingest.sources import LocalSource
from ndjson2parquet.lake.record_store import StorageCommitRecords
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.storage.local import LocalStorage
from ndjson2parquet.workflow.executor import Layout
from ndjson2parquet.workflow.pipeline import Pipeline
from ndjson2parquet.workflow.steps import StepContext, StepDocument, begin, finish, set_aside
from ndjson2parquet.workflow.steps.document import Next, Seen

DAY = "2026-11-20"
OWNER = "process:test-host:1:abcd"
CORRUPT = gzip.compress(b'{"a": 1}\n' * 50)[:-12]  # truncated: no end-of-stream marker
WIDE = '{"a": 2}\n'.encode("utf-16")  # UTF-16 with its byte order mark


def _landing(root: Path) -> Path:
    day = root / "in" / DAY
    day.mkdir(parents=True)
    (day / "good.ndjson").write_bytes(b'{"a": 0}\n')
    (day / "bad.ndjson.gz").write_bytes(CORRUPT)
    (day / "wide.ndjson").write_bytes(WIDE)
    return day


def _pipeline(tmp_path: Path) -> Pipeline:
    store = SqliteStore(tmp_path / "state.db", policy=StorePolicy(max_attempts=3))
    options = RunOptions(batch=BatchPolicy(max_files=10), store=store.policy, workers=1, settle_s=0)
    return Pipeline(store, ArrowEngine(), Layout(str(tmp_path / "lake"), str(tmp_path / "q")), options)


def _by_name(store: SqliteStore, day: Path) -> dict[str, FileRecord]:
    return {Path(r.uri).name: r for p in sorted(day.iterdir()) for r in store.files_by_uri(str(p))}


def test_a_corrupt_gzip_and_a_utf16_file_are_rejected_and_their_bytes_set_aside_with_their_reason(
    tmp_path: Path,
) -> None:
    day = _landing(tmp_path)
    pipeline = _pipeline(tmp_path)
    pipeline.run(LocalSource(tmp_path / "in"))

    files = _by_name(pipeline.store, day)
    assert files["good.ndjson"].state == FileState.DONE and "set aside" not in str(files["good.ndjson"].ledger)
    for name, data, why in (("bad.ndjson.gz", CORRUPT, "corrupt or truncated gzip"), ("wide.ndjson", WIDE, "UTF-16")):
        record = files[name]
        assert record.state == FileState.REJECTED
        copy = set_aside.set_aside_url(record.ledger.rejection)
        folder = set_aside.folder(str(tmp_path / "q"), "default", DAY, record.manifest_id or "")
        assert copy == f"{folder}/{name}"
        assert Path(copy).read_bytes() == data  # byte for byte, compressed as it came
        sidecar = orjson.loads(Path(copy + ".rejected.json").read_bytes())
        assert why in sidecar["reason"] and sidecar["reason"] + f" (set aside: {copy})" == record.ledger.rejection
        assert (sidecar["source"], sidecar["version"], sidecar["size"]) == (record.uri, record.version, len(data))
        assert sidecar["manifest_id"] == record.manifest_id and sidecar["at"].endswith("Z")
    assert len(list((tmp_path / "q").rglob("_rejected/*/*"))) == 4


def test_a_file_gone_before_it_was_read_has_no_copy(tmp_path: Path) -> None:
    day = _landing(tmp_path)
    pipeline = _pipeline(tmp_path)
    ingest(LocalSource(tmp_path / "in"), pipeline.store, pipeline.options.partitioner, now=time.time())
    (day / "bad.ndjson.gz").unlink()
    pipeline.run(LocalSource(tmp_path / "in"))

    gone = pipeline.store.files_by_uri(str(day / "bad.ndjson.gz"))[0]
    assert gone.state == FileState.REJECTED and gone.ledger.rejection.startswith(GONE)
    assert set_aside.set_aside_url(gone.ledger.rejection) is None
    assert sorted(p.name for p in (tmp_path / "q").rglob("_rejected/*/*")) == [
        "wide.ndjson",
        "wide.ndjson.rejected.json",
    ]


def test_a_rejected_file_put_back_whose_landing_copy_is_gone_says_where_its_copy_is(tmp_path: Path) -> None:
    day = _landing(tmp_path)
    pipeline = _pipeline(tmp_path)
    pipeline.run(LocalSource(tmp_path / "in"))
    copy = set_aside.set_aside_url(pipeline.store.files_by_uri(str(day / "bad.ndjson.gz"))[0].ledger.rejection)
    (day / "bad.ndjson.gz").unlink()  # the landing zone expired it
    pipeline.store.retry_rejected("default", DAY)
    pipeline.run(LocalSource(tmp_path / "in"))

    again = _by_name(pipeline.store, day)
    record = pipeline.store.files_by_uri(str(day / "bad.ndjson.gz"))[0]
    assert record.state == FileState.REJECTED and record.ledger.rejection.startswith(GONE)
    assert f"its earlier copy is set aside at {copy}: put it back to convert it" in record.ledger.rejection
    assert Path(copy or "").read_bytes() == CORRUPT  # the earlier manifest's copy stays
    assert again["wide.ndjson"].state == FileState.REJECTED  # converted again: set aside again, in its new manifest
    assert set_aside.set_aside_url(again["wide.ndjson"].ledger.rejection) != copy


def _converted(tmp_path: Path) -> tuple[StepContext, StepDocument, SqliteStore]:
    """Start and convert one manifest of the landing zone through the steps (not committed yet)."""
    _landing(tmp_path)
    pipeline = _pipeline(tmp_path)
    ingest(LocalSource(tmp_path / "in"), pipeline.store, pipeline.options.partitioner, now=time.time())
    (claim,) = pipeline.planner.close_ready(drain=True)
    store = pipeline.store
    ctx = StepContext(store, ArrowEngine(), LocalStorage(), StorageCommitRecords(str(tmp_path / "lake")))
    doc = StepDocument.begin(claim.manifest.manifest_id, OWNER, str(tmp_path / "lake"), str(tmp_path / "q"))
    doc = begin.convert(ctx, begin.start(ctx, doc)).doc
    assert doc.next == Next.COMMIT
    assert len(list((tmp_path / "q").rglob("_rejected/*/*"))) == 4
    return ctx, doc, store


def test_compensation_removes_the_manifests_set_aside_files(tmp_path: Path) -> None:
    ctx, doc, store = _converted(tmp_path)
    done = finish.fail(ctx, doc.then(Seen.RUNNING, Next.FAIL, error="injected"))
    assert done.state == Seen.COMPENSATED
    assert store.get_manifest(doc.manifest_id).state == ManifestState.COMPENSATED
    assert not list((tmp_path / "q").rglob("_rejected/*/*"))


def test_a_put_back_removes_the_manifests_set_aside_files(tmp_path: Path) -> None:
    ctx, doc, _ = _converted(tmp_path)
    assert finish.put_back(ctx, doc).state == Seen.REQUEUED
    assert not list((tmp_path / "q").rglob("_rejected/*/*"))
