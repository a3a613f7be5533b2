"""Two manifests of one dataset converting at once, typing a new column differently: the schema
decision is serialised through the store, so every part agrees with the stored schema (both stores)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from ndjson2parquet.cli.schema_command import polars_form
from ndjson2parquet.config.settings import BatchPolicy, ConversionOptions, RunOptions
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, Engine
from ndjson2parquet.conversion.schema import fits_within, schema_from_json, written_schema
from ndjson2parquet.domain.partitioning import Partitioner
from ndjson2parquet.domain.records import FileRecord, ObjectInfo, local_version
from ndjson2parquet.ingest.sources import LocalSource
from ndjson2parquet.state.base import StateStore
from ndjson2parquet.workflow.executor import Layout, ManifestExecutor
from ndjson2parquet.workflow.pipeline import Pipeline
from tests.contract.conftest import DATASET, DATE, StoreFactory
from tests.support.lake import lake_parts, read_polars, restored

INPUTS = {
    "ints.ndjson": ['{"id":1,"v":"a"}', '{"id":2,"v":"b"}'],
    "strings.ndjson": ['{"id":"x","v":"c"}', '{"id":"y","v":"d"}', '{"id":"z","v":"e"}'],
}


class GatedEngine(Engine):
    """The Arrow engine; each manifest's first conversion waits until every manifest has converted once,
    so all of them decide their schema against the same (empty) stored one."""

    name = "gated"

    def __init__(self, manifests: int) -> None:
        self.inner = ArrowEngine()
        self.gate = threading.Barrier(manifests, timeout=60)
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def convert(self, job: ConversionJob) -> ConversionResult:
        result = self.inner.convert(job)
        with self.lock:
            self.calls[job.manifest_id] += 1
            first = self.calls[job.manifest_id] == 1
        if first:
            self.gate.wait()
        return result

    def remove_outputs(self, job: ConversionJob) -> None:
        self.inner.remove_outputs(job)


def landing(root: Path) -> Path:
    folder = root / "in" / DATE
    folder.mkdir(parents=True)
    for name, lines in INPUTS.items():
        (folder / name).write_text("\n".join(lines) + "\n")
    return root / "in"


def assert_lake_agrees_with_stored_schema(store: StateStore, lake: Path) -> None:
    stored = store.get_schema(DATASET)
    assert stored is not None
    schema = schema_from_json(stored[1])
    assert schema is not None
    columns = {f.name: f.type for f in written_schema(schema)}
    parts = lake_parts(lake / DATASET)
    assert len(parts) == 2
    for part in parts:
        for field in pq.read_schema(part):
            if not field.name.startswith("_"):
                assert fits_within(field.type, columns[field.name]), (part, field, columns)
    # Polars (the strictest reader) reads the lake, and every value is there
    rows = [restored(row)[0] for row in read_polars(lake / DATASET, polars_form(schema))]
    expected = [{"id": v, "v": w} for v, w in [(1, "a"), (2, "b"), ("x", "c"), ("y", "d"), ("z", "e")]]
    assert sorted(rows, key=canonical) == sorted(expected, key=canonical)


def canonical(row: dict[str, object]) -> str:
    return json.dumps(row, sort_keys=True)


def test_manifests_racing_on_threads_agree_on_a_new_columns_type(store_factory: StoreFactory, tmp_path: Path) -> None:
    store = store_factory()
    folder = landing(tmp_path) / DATE
    manifests = []
    for i, name in enumerate(sorted(INPUTS)):
        path = folder / name
        st = path.stat()  # the file's real version: the engine converts only the version registered
        info = ObjectInfo(str(path), name, local_version(st.st_size, st.st_mtime_ns), st.st_size, 1.0)
        record = FileRecord.new(DATASET, DATE, info, 1000.0 + i)
        store.register([record])
        manifest = store.claim([record], "max_files")
        assert manifest is not None
        manifests.append(manifest.manifest_id)
    engine = GatedEngine(len(manifests))
    layout = Layout(str(tmp_path / "lake"), str(tmp_path / "q"))
    executors = [ManifestExecutor(store_factory(), engine, layout, ConversionOptions(), f"w{i}") for i in range(2)]
    outcomes: dict[str, str] = {}
    threads = [
        threading.Thread(target=lambda e=e, m=m: outcomes.__setitem__(m, e.execute(m).state))
        for e, m in zip(executors, manifests, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == dict.fromkeys(manifests, "SUCCEEDED")
    assert sorted(engine.calls.values()) == [1, 2]  # the loser converted again against the winner's schema
    assert_lake_agrees_with_stored_schema(store, tmp_path / "lake")


def test_manifests_racing_in_the_pipeline_with_two_workers_agree(store_factory: StoreFactory, tmp_path: Path) -> None:
    store = store_factory()
    engine = GatedEngine(2)
    partitioner = Partitioner(default_dataset=DATASET)
    options = RunOptions(batch=BatchPolicy(max_files=1), store=store.policy, partitioner=partitioner, workers=2)
    pipeline = Pipeline(store, engine, Layout(str(tmp_path / "lake"), str(tmp_path / "q")), options)
    report = pipeline.run(LocalSource(landing(tmp_path)))
    assert report.manifests.get("SUCCEEDED") == 2 and not report.manifests.get("FAILED")
    assert sorted(engine.calls.values()) == [1, 2]
    assert_lake_agrees_with_stored_schema(store, tmp_path / "lake")
