"""The workflow's Saga on the embedded store, with a deliberately simple engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from ndjson2parquet.config.settings import BatchPolicy, RunOptions, StorePolicy
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult
from ndjson2parquet.domain.records import ObjectInfo
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.ingest.sources import LocalSource
from ndjson2parquet.state.changes import ManifestChange
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.workflow.executor import Layout
from ndjson2parquet.workflow.pipeline import Pipeline
from tests.support.fake_engine import FakeEngine


def _landing(root: Path, files: int = 6, per_file: int = 5) -> list[dict]:
    records = []
    for i in range(files):
        folder = root / f"2026-11-2{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        rows = [{"file": i, "n": n} for n in range(per_file)]
        records += rows
        (folder / f"f{i}.ndjson").write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n\n")
    return records


def _pipeline(tmp_path: Path, engine: FakeEngine, max_attempts: int = 3, max_files: int = 2) -> Pipeline:
    store = SqliteStore(tmp_path / "state.db", policy=StorePolicy(max_attempts=max_attempts))
    options = RunOptions(batch=BatchPolicy(max_files=max_files), store=store.policy, workers=2, settle_s=0)
    return Pipeline(store, engine, Layout(str(tmp_path / "lake"), str(tmp_path / "q")), options)


def _rows(lake: Path) -> list[dict]:
    return [row for part in sorted(lake.rglob("part-*.parquet")) for row in pq.read_table(part).to_pylist()]


def test_run_converts_every_record_once_and_settles_every_manifest(tmp_path: Path) -> None:
    records = _landing(tmp_path / "in")
    pipeline = _pipeline(tmp_path, FakeEngine())
    report = pipeline.run(LocalSource(tmp_path / "in"))
    assert sorted(_rows(tmp_path / "lake"), key=orjson.dumps) == sorted(records, key=orjson.dumps)
    counts = pipeline.store.counts()
    assert counts["files"][FileState.DONE] == 6
    assert counts["manifests"][ManifestState.SUCCEEDED] == 4  # 3 files a date, 2 a manifest
    assert not list(pipeline.store.live_manifests())
    assert report.rows_written == len(records) and report.files == 6
    for record in pipeline.store.files_of(pipeline.store.get_manifest(next(iter(_manifest_ids(tmp_path))))):
        assert record.ledger.balanced and record.ledger.blank == 1


def _manifest_ids(tmp_path: Path) -> set[str]:
    return {p.name.split("-", 1)[1].rsplit("-", 1)[0] for p in (tmp_path / "lake").rglob("part-*.parquet")}


def test_second_run_over_the_same_input_writes_nothing(tmp_path: Path) -> None:
    _landing(tmp_path / "in")
    pipeline = _pipeline(tmp_path, FakeEngine())
    pipeline.run(LocalSource(tmp_path / "in"))
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "lake").rglob("*.parquet")}
    again = pipeline.run(LocalSource(tmp_path / "in"))
    after = {p: p.stat().st_mtime_ns for p in (tmp_path / "lake").rglob("*.parquet")}
    assert before == after
    assert again.ingest["new"] == 0 and sum(again.manifests.values()) == 0


def test_failed_manifest_compensates_and_its_files_convert_on_the_next_round(tmp_path: Path) -> None:
    records = _landing(tmp_path / "in")
    engine = FakeEngine(fail_calls={1})
    pipeline = _pipeline(tmp_path, engine)
    report = pipeline.run(LocalSource(tmp_path / "in"))
    assert report.manifests["FAILED"] == 1 and len(engine.removed) == 1
    assert len(_rows(tmp_path / "lake")) == len(records)
    assert pipeline.store.counts()["manifests"][ManifestState.COMPENSATED] == 1


def test_files_fail_after_max_attempts_and_retry_puts_them_back(tmp_path: Path) -> None:
    _landing(tmp_path / "in", files=2)
    pipeline = _pipeline(tmp_path, FakeEngine(fail_calls=set(range(1, 100))), max_attempts=2)
    report = pipeline.run(LocalSource(tmp_path / "in"))
    assert report.failed_files == 2
    counts = pipeline.store.counts()["files"]
    assert counts[FileState.FAILED] == 2 and counts[FileState.PENDING] == 0
    moved = sum(pipeline.store.retry_failed(s.dataset, s.date) for s in pipeline.store.dates())
    assert moved == 2 and pipeline.store.counts()["files"][FileState.PENDING] == 2
    pipeline.engine = pipeline.executor.engine = FakeEngine()
    pipeline.run(LocalSource(tmp_path / "in"))
    assert pipeline.store.counts()["files"][FileState.DONE] == 2


def test_transient_engine_errors_are_retried_without_failing_the_manifest(tmp_path: Path) -> None:
    records = _landing(tmp_path / "in", files=1)
    pipeline = _pipeline(tmp_path, FakeEngine(fail_calls={1, 2}, transient=True))
    pipeline.executor.backoff = pipeline.executor.backoff.__class__(base=0.001, cap=0.01, attempts=4)
    report = pipeline.run(LocalSource(tmp_path / "in"))
    assert report.manifests["FAILED"] == 0 and len(_rows(tmp_path / "lake")) == len(records)


def test_recovery_requeues_a_manifest_whose_owner_record_expired(tmp_path: Path) -> None:
    records = _landing(tmp_path / "in", files=2)
    pipeline = _pipeline(tmp_path, FakeEngine(), max_files=10)
    store = pipeline.store
    from ndjson2parquet.ingest.registration import ingest

    ingest(LocalSource(tmp_path / "in"), store, pipeline.options.partitioner, now=time.time())
    manifests = [c.manifest for c in pipeline.planner.close_ready(drain=True)]
    dead_owner = "process:elsewhere:4242:dead"  # a run on another host, killed: its record expired
    store.announce_owner(dead_owner, 30.0, now=time.time() - 60)
    store.start(manifests[0].manifest_id, dead_owner)
    report = pipeline.recover()
    assert manifests[0].manifest_id in report.requeued
    pipeline.run(LocalSource(tmp_path / "in"))
    assert len(_rows(tmp_path / "lake")) == len(records)
    assert store.get_manifest(manifests[0].manifest_id).state == ManifestState.SUCCEEDED


@pytest.mark.parametrize("stage", ["succeeded_unsettled", "failed_unsettled"])
def test_recovery_finishes_a_half_done_commit_or_compensation(tmp_path: Path, stage: str) -> None:
    _landing(tmp_path / "in", files=1)
    pipeline = _pipeline(tmp_path, FakeEngine())
    store = pipeline.store
    from ndjson2parquet.ingest.registration import ingest

    ingest(LocalSource(tmp_path / "in"), store, pipeline.options.partitioner)
    (claim,) = pipeline.planner.close_ready(drain=True)
    manifest = claim.manifest
    running = store.start(manifest.manifest_id, pipeline.owner)
    if stage == "succeeded_unsettled":
        store._update_manifest(
            manifest.manifest_id,
            frozenset({ManifestState.RUNNING}),
            None,
            ManifestChange(state=ManifestState.SUCCEEDED),
        )
        report = pipeline.recover()
        assert report.settled == [manifest.manifest_id]
        assert store.counts()["files"][FileState.DONE] == 1
    else:
        store.fail(running, pipeline.owner, "boom")
        report = pipeline.recover()
        assert report.compensated == [manifest.manifest_id]
        assert store.counts()["files"][FileState.PENDING] == 1
    assert not list(store.live_manifests())


class _GatedSource:
    """A landing zone whose listing stops half way until a manifest has been converted (or 10 s pass)."""

    def __init__(self, inner: LocalSource, converted: threading.Event, after: int) -> None:
        self.inner, self.converted, self.after = inner, converted, after
        self.converted_while_listing = False

    def describe(self) -> str:
        return self.inner.describe()

    def objects(self) -> Iterator[ObjectInfo]:
        for index, obj in enumerate(self.inner.objects()):
            if index == self.after:
                self.converted_while_listing = self.converted.wait(10)
            yield obj


def test_run_converts_full_manifests_while_the_landing_zone_is_still_listed(tmp_path: Path) -> None:
    records = _landing(tmp_path / "in", files=8)
    converted = threading.Event()

    class SignallingEngine(FakeEngine):
        def convert(self, job: ConversionJob) -> ConversionResult:
            result = super().convert(job)
            converted.set()
            return result

    pipeline = _pipeline(tmp_path, SignallingEngine())
    pipeline.store.write_chunk = 2  # registered in pairs, so a manifest's worth is known early
    source = _GatedSource(LocalSource(tmp_path / "in"), converted, after=6)
    report = pipeline.run(source)
    assert source.converted_while_listing
    assert sorted(_rows(tmp_path / "lake"), key=orjson.dumps) == sorted(records, key=orjson.dumps)
    assert report.files == 8 and report.ingest["new"] == 8
    assert pipeline.store.counts()["files"][FileState.DONE] == 8
