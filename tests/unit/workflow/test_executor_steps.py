"""The embedded executor composed of the steps: a lost lease, and work objects cleaned up."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from ndjson2parquet.config.settings import BatchPolicy, RunOptions, StorePolicy
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult
from ndjson2parquet.domain.states import ManifestState
from ndjson2parquet.ingest.registration import ingest
from ndjson2parquet.ingest.sources import LocalSource
from ndjson2parquet.lake.record_store import StorageCommitRecords
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.workflow.executor import Layout
from ndjson2parquet.workflow.pipeline import Pipeline
from ndjson2parquet.workflow.steps import work_folder
from tests.support.fake_engine import FakeEngine

THIEF = "glue-run:other-job:jr_1"


def _pipeline(tmp_path: Path, engine: FakeEngine, lease_s: float = 900.0) -> Pipeline:
    for i in range(2):
        folder = tmp_path / "in" / "2026-11-20"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.ndjson").write_bytes(orjson.dumps({"i": i}) + b"\n")
    store = SqliteStore(tmp_path / "state.db", policy=StorePolicy(lease_s=lease_s))
    options = RunOptions(batch=BatchPolicy(max_files=1), store=store.policy, settle_s=0)
    return Pipeline(store, engine, Layout(str(tmp_path / "lake"), str(tmp_path / "q")), options)


def test_a_manifest_taken_over_while_converting_is_skipped_and_left_to_its_new_owner(tmp_path: Path) -> None:
    class TakenOver(FakeEngine):
        def convert(self, job: ConversionJob) -> ConversionResult:
            result = super().convert(job)
            store = pipeline.store
            store.requeue(store.get_manifest(job.manifest_id))  # recovery thought us dead…
            store.start(job.manifest_id, THIEF)  # …and another owner started it
            time.sleep(0.5)  # the heartbeat (every 0.1 s) finds the lease gone, if the commit does not
            return result

    pipeline = _pipeline(tmp_path, TakenOver(), lease_s=0.3)
    ingest(LocalSource(tmp_path / "in"), pipeline.store, pipeline.options.partitioner)
    claim = next(iter(pipeline.planner.close_ready(drain=True)))
    outcome = pipeline.executor.execute(claim.manifest.manifest_id, claim.files)
    assert outcome.state == "SKIPPED"  # the heartbeat saw it, or else the commit's condition did
    manifest = pipeline.store.get_manifest(claim.manifest.manifest_id)
    assert manifest.state == ManifestState.RUNNING and manifest.lease_owner == THIEF
    assert list(StorageCommitRecords(tmp_path / "lake").refs()) == []  # nothing committed in their name
    assert list((tmp_path / "lake").rglob("part-*.parquet"))  # their parts (same names) left alone


def test_a_run_leaves_no_work_object_and_recovery_sweeps_what_a_crash_left_of_settled_manifests(
    tmp_path: Path,
) -> None:
    pipeline = _pipeline(tmp_path, FakeEngine())
    pipeline.run(LocalSource(tmp_path / "in"))
    folder = Path(work_folder(str(tmp_path / "lake")))
    assert not list(folder.iterdir())
    settled = next(iter(pipeline.store.manifests_of("default", "2026-11-20"))).manifest_id
    leftovers = [folder / f"{settled}.run-1.json", folder / f".{settled}.run-2.json.99-abc.tmp"]
    in_flight = folder / "20261120-unknown.run-1.json"  # a manifest the state does not know
    for path in [*leftovers, in_flight]:
        path.write_bytes(b"{}")
    report = pipeline.recover()
    assert sorted(report.swept) == sorted([settled, "20261120-unknown"])
    assert not list(folder.iterdir())
