"""The real engine in the real pipeline under hostile conditions: unreadable inputs, a full disk, odd failures."""

from __future__ import annotations

import errno
import logging
import os
import time
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from ndjson2parquet.config.settings import BatchPolicy, RunOptions, StorePolicy
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, Engine
from ndjson2parquet.conversion.inputs import read_local
from ndjson2parquet.domain.errors import EngineError, ResourceExhausted
from ndjson2parquet.domain.records import FileRecord
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.ingest.registration import ingest
from ndjson2parquet.ingest.sources import LocalSource
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.workflow.executor import Layout
from ndjson2parquet.workflow.pipeline import Pipeline


def _landing(root: Path, files: int = 6, per_file: int = 5) -> list[dict[str, Any]]:
    records = []
    for i in range(files):
        folder = root / f"2026-11-2{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        rows = [{"file": i, "n": n} for n in range(per_file)]
        records += rows
        (folder / f"f{i}.ndjson").write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    return records


def _pipeline(tmp_path: Path, engine: Engine, max_files: int = 2) -> Pipeline:
    store = SqliteStore(tmp_path / "state.db", policy=StorePolicy(max_attempts=3))
    options = RunOptions(batch=BatchPolicy(max_files=max_files), store=store.policy, workers=2)
    return Pipeline(store, engine, Layout(str(tmp_path / "lake"), str(tmp_path / "q")), options)


def _rows(lake: Path) -> list[dict[str, Any]]:
    rows = [row for part in sorted(lake.rglob("part-*.parquet")) for row in pq.read_table(part).to_pylist()]
    return [{k: v for k, v in row.items() if k not in ("_rescued_data", "_duplicate_keys")} for row in rows]


def _files(pipeline: Pipeline, landing: Path) -> list[FileRecord]:
    return [r for path in sorted(landing.rglob("*.ndjson")) for r in pipeline.store.files_by_uri(str(path))]


# --- unreadable inputs --------------------------------------------------------------------------


def test_unreadable_inputs_are_rejected_alone_and_the_rest_of_their_manifest_converts(tmp_path: Path) -> None:
    records = _landing(tmp_path / "in", files=5)
    day = tmp_path / "in" / "2026-11-20"  # f0, f2, f4: one manifest
    pipeline = _pipeline(tmp_path, ArrowEngine(), max_files=10)
    ingest(LocalSource(tmp_path / "in"), pipeline.store, pipeline.options.partitioner, now=time.time())
    (day / "f0.ndjson").unlink()
    (day / "f0.ndjson").mkdir()  # a folder where a file was
    (day / "f2.ndjson").unlink()
    os.mkfifo(day / "f2.ndjson")  # a named pipe where a file was: reading it would hang the run forever
    secret = str(day / "f4.ndjson")

    def opener(uri: str) -> bytes:  # tests run as root, where permission bits stop no read
        if uri == secret:
            raise PermissionError(errno.EACCES, "Permission denied", uri)
        return read_local(uri)

    pipeline.engine = pipeline.executor.engine = ArrowEngine(opener=opener)
    report = pipeline.run(LocalSource(tmp_path / "in"))

    assert report.manifests["FAILED"] == 0 and report.failed_files == 0
    by_name = {Path(r.uri).name: r for r in _files(pipeline, tmp_path / "in")}
    reasons = {name: by_name[name].ledger.rejection for name in ("f0.ndjson", "f2.ndjson", "f4.ndjson")}
    unread = "(not set aside: it cannot be read)"  # never opened, or not readable: no copy in the quarantine
    assert reasons == {
        "f0.ndjson": f"not a regular file (a folder): {day / 'f0.ndjson'} {unread}",
        "f2.ndjson": f"not a regular file (a named pipe): {day / 'f2.ndjson'} {unread}",
        "f4.ndjson": f"input not readable (Permission denied): {secret} {unread}",
    }
    assert not list((tmp_path / "q").rglob("_rejected"))
    assert all(by_name[name].state == FileState.REJECTED and by_name[name].attempts == 0 for name in reasons)
    assert {name for name, r in by_name.items() if r.state == FileState.DONE} == {"f1.ndjson", "f3.ndjson"}
    assert all(r.ledger.balanced for r in by_name.values())
    good = [r for r in records if r["file"] in (1, 3)]
    assert sorted(_rows(tmp_path / "lake"), key=orjson.dumps) == sorted(good, key=orjson.dumps)
    assert {f["uri"] for f in report.rejected_files} == {str(day / n) for n in reasons}


# --- resources running out ----------------------------------------------------------------------


class _FullDisk:
    """Every Parquet write fails with ENOSPC while ``full`` holds (the engine's own writer, unchanged)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = True
        self.refused = 0
        disk = self
        real = pq.core.ParquetWriter

        class Writer(real):  # type: ignore[misc, valid-type]
            def write_table(self, *args: Any, **kwargs: Any) -> None:
                if disk.full:
                    disk.refused += 1
                    raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left")
                super().write_table(*args, **kwargs)

        monkeypatch.setattr(pq.core, "ParquetWriter", Writer)
        monkeypatch.setattr(pq, "ParquetWriter", Writer)


def test_a_full_disk_stops_the_run_spends_no_attempt_and_the_next_run_finishes_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _landing(tmp_path / "in")
    disk = _FullDisk(monkeypatch)
    pipeline = _pipeline(tmp_path, ArrowEngine())

    with pytest.raises(ResourceExhausted, match="No space left on device") as stopped:
        pipeline.run(LocalSource(tmp_path / "in"))
    assert "free some room, then run again" in str(stopped.value)
    assert disk.refused > 0
    files = _files(pipeline, tmp_path / "in")
    assert len(files) == 6 and all(r.attempts == 0 for r in files)
    assert {r.state for r in files} <= {FileState.PENDING, FileState.CLAIMED}
    live = list(pipeline.store.live_manifests())
    assert live and {m.state for m in live} == {ManifestState.CREATED}  # put back, re-driven under the same id
    assert sum(m.runs for m in live) <= pipeline.options.workers  # stopped promptly: nothing new was started
    counts = pipeline.store.counts()
    assert counts["files"][FileState.FAILED] == 0 and counts["manifests"][ManifestState.FAILED] == 0
    assert counts["manifests"][ManifestState.COMPENSATED] == 0
    assert all(status.sealed_at is None for status in pipeline.store.dates())
    assert not list((tmp_path / "lake").rglob("*.parquet*"))  # partial outputs removed

    disk.full = False  # space freed: a plain run (no `retry`) finishes the job, each record exactly once
    report = pipeline.run(LocalSource(tmp_path / "in"))
    assert report.manifests["FAILED"] == 0 and report.failed_files == 0
    files = _files(pipeline, tmp_path / "in")
    assert all(r.state == FileState.DONE and r.attempts == 0 and r.ledger.balanced for r in files)
    assert {m.manifest_id for m in live} <= {m.manifest_id for m in _succeeded(pipeline)}
    assert sorted(_rows(tmp_path / "lake"), key=orjson.dumps) == sorted(records, key=orjson.dumps)
    assert all(status.sealed_at is not None for status in pipeline.store.dates())


def _succeeded(pipeline: Pipeline) -> list[Any]:
    return [
        m
        for status in pipeline.store.dates()
        for m in pipeline.store.manifests_of(status.dataset, status.date)
        if m.state == ManifestState.SUCCEEDED
    ]


class _OutOfMemory(Engine):
    """Runs out of memory on its first call, then converts with the real engine."""

    def __init__(self) -> None:
        self.real = ArrowEngine()
        self.calls = 0

    def convert(self, job: ConversionJob) -> ConversionResult:
        self.calls += 1
        if self.calls == 1:
            raise MemoryError("cannot allocate a 2 GiB buffer")
        return self.real.convert(job)

    def remove_outputs(self, job: ConversionJob) -> None:
        self.real.remove_outputs(job)


def test_running_out_of_memory_puts_the_manifest_back_instead_of_failing_it(tmp_path: Path) -> None:
    records = _landing(tmp_path / "in", files=2)
    engine = _OutOfMemory()
    pipeline = _pipeline(tmp_path, engine)
    with pytest.raises(ResourceExhausted, match="out of memory"):
        pipeline.run(LocalSource(tmp_path / "in"))
    files = _files(pipeline, tmp_path / "in")  # the other manifest may have converted meanwhile
    assert all(r.attempts == 0 for r in files) and FileState.CLAIMED in {r.state for r in files}
    assert {r.state for r in files} <= {FileState.PENDING, FileState.CLAIMED, FileState.DONE}
    pipeline.run(LocalSource(tmp_path / "in"))
    assert sorted(_rows(tmp_path / "lake"), key=orjson.dumps) == sorted(records, key=orjson.dumps)


def test_a_full_state_store_at_a_manifest_start_stops_the_run_with_the_manifest_left_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _landing(tmp_path / "in", files=2)
    pipeline = _pipeline(tmp_path, ArrowEngine())

    def full(*args: Any, **kwargs: Any) -> Any:
        raise ResourceExhausted("state store full (database or disk is full): state.db")

    monkeypatch.setattr(pipeline.store, "start", full)
    with pytest.raises(ResourceExhausted, match=r"^run stopped, resources exhausted: state store full"):
        pipeline.run(LocalSource(tmp_path / "in"))
    assert {m.state for m in pipeline.store.live_manifests()} == {ManifestState.CREATED}
    assert all(r.attempts == 0 for r in _files(pipeline, tmp_path / "in"))
    monkeypatch.undo()
    pipeline.run(LocalSource(tmp_path / "in"))
    assert sorted(_rows(tmp_path / "lake"), key=orjson.dumps) == sorted(records, key=orjson.dumps)


# --- terminal errors say what and where ---------------------------------------------------------


class _Broken(Engine):
    """Fails every manifest with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def convert(self, job: ConversionJob) -> ConversionResult:
        raise self.error

    def remove_outputs(self, job: ConversionJob) -> None:
        pass


@pytest.mark.parametrize(
    ("error", "uri"),
    [
        (EngineError("conversion failed: bad block", uri="/in/2026-11-20/f0.ndjson"), "/in/2026-11-20/f0.ndjson"),
        (KeyError("schema"), None),  # a bug: its type says more than its message
    ],
)
def test_a_terminal_error_logs_its_type_its_file_and_at_debug_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, error: Exception, uri: str | None
) -> None:
    _landing(tmp_path / "in", files=1)
    monkeypatch.setattr(logging.getLogger("ndjson2parquet"), "propagate", True)  # the CLI's setup may turn it off
    pipeline = _pipeline(tmp_path, _Broken(error))
    with caplog.at_level(logging.DEBUG, logger="ndjson2parquet.workflow"):  # the steps log it
        report = pipeline.run(LocalSource(tmp_path / "in"))
    assert report.manifests["FAILED"] >= 1
    [failed, *_] = [r for r in caplog.records if r.getMessage() == "manifest failed"]
    assert failed.levelno == logging.ERROR and failed.error_type == type(error).__name__  # type: ignore[attr-defined]
    assert getattr(failed, "uri", None) == uri
    traces = [r for r in caplog.records if r.levelno == logging.DEBUG and r.exc_info]
    assert traces and traces[0].exc_info[1] is error  # type: ignore[index]


class _NeverFits(Engine):
    """Runs out of memory on every manifest."""

    def convert(self, job: ConversionJob) -> ConversionResult:
        raise MemoryError("cannot allocate a 64 GiB buffer")

    def remove_outputs(self, job: ConversionJob) -> None:
        pass


def test_a_manifest_that_runs_out_of_resources_in_every_run_is_failed_not_put_back_forever(tmp_path: Path) -> None:
    _landing(tmp_path / "in", files=1)
    store = SqliteStore(tmp_path / "state.db", policy=StorePolicy(max_attempts=1, max_runs=2))
    options = RunOptions(batch=BatchPolicy(max_files=10), store=store.policy, workers=1, settle_s=0)
    pipeline = Pipeline(store, _NeverFits(), Layout(str(tmp_path / "lake"), str(tmp_path / "q")), options)
    put_back = 0
    for _ in range(4):  # a put-back spends no attempt; without a bound this would go on forever
        try:
            pipeline.run(LocalSource(tmp_path / "in"))
        except ResourceExhausted as exc:
            assert "out of memory" in str(exc)
            put_back += 1
        [record] = _files(pipeline, tmp_path / "in")
        if record.state == FileState.FAILED:
            break
    assert put_back >= 1 and (record.state, record.attempts) == (FileState.FAILED, 1)
    assert "resources ran out in each of 2 runs" in (record.error or "")
