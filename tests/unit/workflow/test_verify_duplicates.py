"""`verify` finds a line the lake holds twice, as today's watch-while-writing bug left it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ndjson2parquet.config.settings import BatchPolicy, ConversionOptions, RunOptions
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.workflow.executor import Layout
from ndjson2parquet.workflow.pipeline import Pipeline
from ndjson2parquet.workflow.verify import verify_date

DATE = "2026-11-25"


def _converted_whole_twice(tmp_path: Path, lineage: bool) -> tuple[Pipeline, Path]:
    """Two versions of one file, each converted from its first byte: what listing a growing file did."""
    path = tmp_path / "in" / DATE / "a.ndjson"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"".join(orjson.dumps({"n": n}) + b"\n" for n in range(3)))
    store = SqliteStore(tmp_path / "state.db")
    # an opener other than the local reader: the engine checks the size only, as for an object store
    engine = ArrowEngine(opener=lambda uri: Path(uri).read_bytes())
    options = RunOptions(batch=BatchPolicy(max_files=1), conversion=ConversionOptions(lineage=lineage), settle_s=0)
    pipeline = Pipeline(store, engine, Layout(str(tmp_path / "lake"), str(tmp_path / "q")), options)
    for version, at in (("v1", 1.0), ("v2", 2.0)):
        obj = ObjectInfo(str(path), f"{DATE}/a.ndjson", version, path.stat().st_size, at)
        store.register([FileRecord.new("default", DATE, obj, at)])
        (claim,) = pipeline.planner.close_ready(drain=True)
        assert pipeline.executor.execute(claim.manifest.manifest_id, claim.files).state == "SUCCEEDED"
    return pipeline, path


@pytest.mark.parametrize("lineage", [False, True])
def test_verify_flags_a_file_whose_lines_were_converted_by_two_versions(tmp_path: Path, lineage: bool) -> None:
    pipeline, path = _converted_whole_twice(tmp_path, lineage)
    report = verify_date(pipeline.store, "default", DATE)
    assert not report.ok
    first, second = pipeline.store.files_by_uri(str(path))
    assert (
        f"{path}: bytes 0–{path.stat().st_size} (lines from 1) are converted twice: by versions" in report.problems[0]
    )
    assert first.file_id in report.problems[0] and second.file_id in report.problems[0]
    if lineage:  # the lake itself shows it too: each (file, line) pair is in two rows
        assert f"{path}: line 1 is held 2 times in the lake" in report.problems
