"""Commit records through the workflow: written before the commit, replaced on a re-run, removed by
compensation, checked at start, and enough to rebuild a lost state."""

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
from ndjson2parquet.domain.errors import StateBehindLake, StoreUnavailable
from ndjson2parquet.domain.records import Manifest, manifest_created_at, new_manifest_id
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.ingest.registration import ingest
from ndjson2parquet.ingest.sources import LocalSource
from ndjson2parquet.lake.record_store import RecordRef, StorageCommitRecords
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.workflow.executor import Layout
from ndjson2parquet.workflow.lake_commits import rebuild_from_lake, ref_of, unknown_records
from ndjson2parquet.workflow.pipeline import Pipeline
from ndjson2parquet.workflow.recovery import recover
from tests.support.fake_engine import FakeEngine


class _Crash(BaseException):
    """The process dies here (nothing of ours catches it)."""


def _landing(root: Path, files: int = 4) -> list[dict]:
    rows = []
    for i in range(files):
        folder = root / f"2026-11-2{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        mine = [{"file": i, "n": n} for n in range(3)]
        rows += mine
        (folder / f"f{i}.ndjson").write_bytes(b"\n".join(orjson.dumps(r) for r in mine) + b"\n")
    return rows


def _pipeline(tmp_path: Path, engine: FakeEngine, state: str = "state.db", **policy: int) -> Pipeline:
    store = SqliteStore(tmp_path / state, policy=StorePolicy(**policy))
    options = RunOptions(batch=BatchPolicy(max_files=2), store=store.policy, workers=2)
    return Pipeline(store, engine, Layout(str(tmp_path / "lake"), str(tmp_path / "q")), options)


def _rows(lake: Path) -> list[dict]:
    return sorted(
        (row for part in sorted(lake.rglob("part-*.parquet")) for row in pq.read_table(part).to_pylist()),
        key=orjson.dumps,
    )


def _one_running_manifest(pipeline: Pipeline, tmp_path: Path) -> Manifest:
    ingest(LocalSource(tmp_path / "in"), pipeline.store, pipeline.options.partitioner)
    claims = list(pipeline.planner.close_ready(drain=True))
    return claims[0].manifest


def _crash_at_commit(pipeline: Pipeline, manifest: Manifest, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_args: object, **_kw: object) -> None:
        raise _Crash

    with monkeypatch.context() as patch:
        patch.setattr(pipeline.store, "succeed", crash)
        with pytest.raises(_Crash):
            pipeline.executor.execute(manifest.manifest_id)


def test_a_run_leaves_one_record_per_committed_manifest(tmp_path: Path) -> None:
    _landing(tmp_path / "in")
    pipeline = _pipeline(tmp_path, FakeEngine())
    report = pipeline.run(LocalSource(tmp_path / "in"))
    records = StorageCommitRecords(tmp_path / "lake")
    refs = list(records.refs())
    assert len(refs) == report.manifests["SUCCEEDED"] == 2
    for ref in refs:
        manifest = pipeline.store.get_manifest(ref.manifest_id)
        state_manifest, files = records.read(ref).to_state(str(tmp_path / "lake"))
        assert state_manifest.outputs == manifest.outputs and state_manifest.file_ids == manifest.file_ids
        assert {f.file_id: f.ledger for f in files} == {f.file_id: f.ledger for f in pipeline.store.files_of(manifest)}


def test_a_crash_between_record_and_commit_is_re_driven_and_its_record_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _landing(tmp_path / "in")
    seen_records: list[bool] = []

    class Watching(FakeEngine):
        def convert(self, job: ConversionJob) -> ConversionResult:
            if job.manifest_id == manifest.manifest_id:
                seen_records.append(records.path(ref_of(manifest)).exists())
            return super().convert(job)

    pipeline = _pipeline(tmp_path, Watching())
    records = StorageCommitRecords(tmp_path / "lake")
    manifest = _one_running_manifest(pipeline, tmp_path)
    _crash_at_commit(pipeline, manifest, monkeypatch)
    assert records.read(ref_of(manifest)).runs == 1
    assert pipeline.store.get_manifest(manifest.manifest_id).state == ManifestState.RUNNING
    assert unknown_records(records, pipeline.store) == (0, None)  # a RUNNING manifest is known: no refusal

    assert recover(pipeline.store, pipeline.executor, alive=lambda _owner: False).requeued == [manifest.manifest_id]
    pipeline.run(LocalSource(tmp_path / "in"))
    assert pipeline.store.get_manifest(manifest.manifest_id).state == ManifestState.SUCCEEDED
    assert seen_records == [False, False]  # the re-run removed the old record before touching parts
    assert records.read(ref_of(manifest)).runs == 2
    assert len([r for r in records.refs() if r.manifest_id == manifest.manifest_id]) == 1
    assert not list((tmp_path / "lake").rglob(".*"))
    assert _rows(tmp_path / "lake") == sorted(rows, key=orjson.dumps)


def test_a_failed_commit_compensates_and_removes_the_record_with_the_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _landing(tmp_path / "in")
    pipeline = _pipeline(tmp_path, FakeEngine())
    records = StorageCommitRecords(tmp_path / "lake")
    manifest = _one_running_manifest(pipeline, tmp_path)

    def unavailable(*_args: object, **_kw: object) -> None:
        assert records.path(ref_of(manifest)).is_file()  # written before the commit point
        raise StoreUnavailable("state store gone")

    monkeypatch.setattr(pipeline.store, "succeed", unavailable)
    outcome = pipeline.executor.execute(manifest.manifest_id)
    assert outcome.state == "FAILED"
    assert pipeline.store.get_manifest(manifest.manifest_id).state == ManifestState.COMPENSATED
    assert list(records.refs()) == [] and not list((tmp_path / "lake").rglob("*.parquet"))


def test_recovery_compensating_a_failed_manifest_removes_its_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _landing(tmp_path / "in")
    pipeline = _pipeline(tmp_path, FakeEngine())
    records = StorageCommitRecords(tmp_path / "lake")
    manifest = _one_running_manifest(pipeline, tmp_path)
    _crash_at_commit(pipeline, manifest, monkeypatch)
    pipeline.store.fail(pipeline.store.get_manifest(manifest.manifest_id), pipeline.owner, "gave up")
    assert pipeline.recover().compensated == [manifest.manifest_id]
    assert list(records.refs()) == []
    assert all(r.state == FileState.PENDING for r in pipeline.store.files_of(manifest))


def test_a_state_lost_after_a_crash_between_record_and_commit_is_rebuilt_with_that_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _landing(tmp_path / "in")
    pipeline = _pipeline(tmp_path, FakeEngine())
    manifest = _one_running_manifest(pipeline, tmp_path)
    _crash_at_commit(pipeline, manifest, monkeypatch)  # its parts are published, its record written
    fresh = _pipeline(tmp_path, FakeEngine(), state="fresh.db")
    with pytest.raises(StateBehindLake, match="holds 1 committed manifest"):
        fresh.run(LocalSource(tmp_path / "in"))
    with pytest.raises(StateBehindLake, match="recover --from-lake"):
        fresh.watch(LocalSource(tmp_path / "in"), threading.Event())
    assert fresh.store.counts()["files"][FileState.PENDING] == 0  # refused before listing anything
    report = rebuild_from_lake(fresh.executor.commit_records, fresh.store, str(tmp_path / "lake"))
    assert (report.records, report.imported, report.files) == (1, 1, 2)
    fresh.run(LocalSource(tmp_path / "in"))
    assert fresh.store.get_manifest(manifest.manifest_id).state == ManifestState.SUCCEEDED
    assert fresh.store.counts()["files"][FileState.DONE] == 4
    assert _rows(tmp_path / "lake") == sorted(rows, key=orjson.dumps)  # every row once


def test_the_start_check_looks_records_up_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _landing(tmp_path / "in", files=10)
    pipeline = _pipeline(tmp_path, FakeEngine(), page_size=2)
    pipeline.run(LocalSource(tmp_path / "in"))  # 2 dates x 5 files, 2 a manifest: 6 manifests
    asked: list[int] = []
    real = pipeline.store.known_manifests
    monkeypatch.setattr(pipeline.store, "known_manifests", lambda ids: asked.append(len(ids)) or real(ids))
    pipeline.check_lake()
    assert asked == [2, 2, 2]
    fresh = SqliteStore(tmp_path / "fresh.db", policy=StorePolicy(page_size=2))
    count, first = unknown_records(pipeline.executor.commit_records, fresh)
    assert count == 6 and first == next(pipeline.executor.commit_records.refs())


class _Listed(StorageCommitRecords):
    """Records that only need listing."""

    def __init__(self, refs: list[RecordRef]) -> None:
        super().__init__("/nowhere")
        self._refs = refs

    def refs(self) -> Iterator[RecordRef]:
        return iter(self._refs)


class _ExpiringStore(SqliteStore):
    expires_finished = True


def test_a_store_that_expires_finished_records_is_not_asked_about_manifests_past_its_retention(
    tmp_path: Path,
) -> None:
    now = time.time()
    recent = RecordRef("events", "2026-11-25", f"20261125-{int((now - 3600) * 1000):x}-aaaaaaaaaaaa")
    expired = RecordRef("events", "2026-11-20", f"20261120-{int((now - 3 * 86400) * 1000):x}-bbbbbbbbbbbb")
    policy = StorePolicy(retention_days=1)
    assert unknown_records(_Listed([expired, recent]), _ExpiringStore(tmp_path / "a.db", policy=policy), now) == (
        1,
        recent,
    )
    assert unknown_records(_Listed([expired, recent]), SqliteStore(tmp_path / "b.db", policy=policy), now) == (
        2,
        expired,
    )


def test_a_manifest_id_tells_when_it_was_made() -> None:
    before = time.time()
    made = manifest_created_at(new_manifest_id("2026-11-25"))
    assert made is not None and before - 0.002 <= made <= time.time() + 0.002
    assert manifest_created_at("m1") is None and manifest_created_at("a-zz-b") is None
