"""The Saga's steps are idempotent: run twice in a row, or again after a crash at any write inside
them (before or after that write is done), each leaves the state and the lake's objects exactly as
one clean run does."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from ndjson2parquet.batching.planner import Planner
from ndjson2parquet.config.settings import BatchPolicy, StorePolicy
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult
from ndjson2parquet.domain.errors import EngineError, ResourceExhausted
from ndjson2parquet.domain.partitioning import Partitioner
from ndjson2parquet.ingest.registration import ingest
from ndjson2parquet.ingest.sources import LocalSource
from ndjson2parquet.lake.record_store import StorageCommitRecords
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.storage.local import LocalStorage
from ndjson2parquet.workflow.steps import StepContext, StepDocument, begin, finish
from ndjson2parquet.workflow.steps.document import Next, Seen
from tests.support.faults import (
    ENGINE_WRITES,
    RECORD_WRITES,
    STORAGE_WRITES,
    STORE_WRITES,
    Crash,
    Faults,
    Faulty,
)

OWNER = "process:test-host:1:abcd"
POLICY = StorePolicy(owner_ttl_s=600.0, max_attempts=3)  # no heartbeat fires during a test


class _Failing(ArrowEngine):
    """Converts nothing: raises what it is given (a failure, or resources running out)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def convert(self, job: ConversionJob) -> ConversionResult:
        raise self.error


ENGINES: dict[str, Callable[[], ArrowEngine]] = {
    "converts": ArrowEngine,
    "fails": lambda: _Failing(EngineError("injected: bad input")),
    "runs_out": lambda: _Failing(ResourceExhausted("injected: disk full", uri="/x")),
}


@dataclass
class World:
    """One landing zone, state and lake, with one claimed manifest: copied afresh for every scenario
    (same paths, ids and versions, so two worlds' final snapshots compare as they are)."""

    root: Path
    manifest_id: str

    @property
    def lake(self) -> str:
        return str(self.root / "lake")

    def context(self, engine: str, faults: Faults | None = None) -> tuple[StepContext, SqliteStore]:
        store = SqliteStore(self.root / "state.db", policy=POLICY)
        storage, records, eng = LocalStorage(), StorageCommitRecords(self.lake), ENGINES[engine]()
        if faults is not None:
            ctx = StepContext(
                Faulty(store, STORE_WRITES, faults, "store"),  # type: ignore[arg-type]
                Faulty(eng, ENGINE_WRITES, faults, "engine"),  # type: ignore[arg-type]
                Faulty(storage, STORAGE_WRITES, faults, "storage"),  # type: ignore[arg-type]
                Faulty(records, RECORD_WRITES, faults, "records"),  # type: ignore[arg-type]
            )
        else:
            ctx = StepContext(store, eng, storage, records)
        return ctx, store

    def first_document(self) -> StepDocument:
        return StepDocument.begin(self.manifest_id, OWNER, self.lake, str(self.root / "q"), owner_ttl_s=600.0)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A landing zone of 4 files (one with a line that is no JSON, one a truncated gzip), registered and claimed."""
    root = tmp_path_factory.mktemp("base")
    day = root / "in" / "2026-11-20"
    day.mkdir(parents=True)
    for i in range(3):
        lines = [orjson.dumps({"file": i, "n": n, "v": n * 1.5}) for n in range(4)]
        if i == 1:
            lines.append(b"{not json")
        (day / f"f{i}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    (day / "f3.ndjson.gz").write_bytes(gzip.compress(b'{"file": 3}\n')[:-9])  # truncated: rejected, set aside
    store = SqliteStore(root / "state.db", policy=POLICY)
    ingest(LocalSource(root / "in"), store, Partitioner())
    (claim,) = Planner(store, BatchPolicy(max_files=10)).close_ready(drain=True)
    (root / "manifest_id").write_text(claim.manifest.manifest_id)
    store.close()
    return root


def _world(base: Path, tmp_path: Path) -> World:
    root = tmp_path / "world"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(base, root)
    return World(root, (root / "manifest_id").read_text())


# --------------------------------------------------------------------------- driving the steps
def _step(name: str, ctx: StepContext, doc: StepDocument) -> StepDocument:
    if name == "start":
        return begin.start(ctx, doc)
    if name == "convert":
        return begin.convert(ctx, doc).doc
    if name == "commit":
        return finish.commit(ctx, doc).doc  # from the work object, as a Step Functions task does
    return {"fail": finish.fail, "put_back": finish.put_back, "compensate": finish.compensate}[name](ctx, doc)


def _after(doc: StepDocument) -> str | None:
    return {Next.CONVERT: "convert", Next.COMMIT: "commit", Next.FAIL: "fail", Next.PUT_BACK: "put_back"}.get(doc.next)


def _drive(ctx: StepContext, doc: StepDocument, first: str = "start") -> tuple[StepDocument, dict[str, StepDocument]]:
    """Run the steps from ``first`` on as their documents say; return the last one and each step's."""
    seen: dict[str, StepDocument] = {}
    name: str | None = first
    while name is not None:
        doc = _step(name, ctx, doc)
        seen[name] = doc
        name = _after(doc)
    return doc, seen


def _inputs(world: World, engine: str) -> dict[str, StepDocument]:
    """The document each step of a clean run got."""
    ctx, store = world.context(engine)
    inputs: dict[str, StepDocument] = {}
    doc, name = world.first_document(), "start"
    while name is not None:
        inputs[name] = doc
        doc = _step(name, ctx, doc)
        name = _after(doc)
    store.close()
    return inputs


# --------------------------------------------------------------------------- what a world holds
def _snapshot(world: World) -> dict[str, Any]:
    """The manifest, its files, the schema and every object under the world (times left out)."""
    store = SqliteStore(world.root / "state.db", policy=POLICY)
    try:
        m = store.get_manifest(world.manifest_id)
        files = sorted(store.files_of(m), key=lambda r: r.file_id)
        state = {
            "manifest": (m.state, m.settled, m.runs, m.lease_owner, m.outputs, m.stats, m.error),
            "files": [(r.file_id, r.state, r.manifest_id, r.attempts, r.ledger, r.error) for r in files],
            "schema": store.get_schema(m.dataset),
            "counts": store.counts(),
        }
    finally:
        store.close()
    objects: dict[str, Any] = {}
    for path in sorted(p for p in world.root.rglob("*") if p.is_file()):
        key = str(path.relative_to(world.root))
        if key.startswith(("state.db", "in/")) or key == "manifest_id":
            continue
        if path.suffix == ".parquet":
            objects[key] = pq.read_table(path).to_pylist()
        elif key.endswith(".rejected.json"):  # a set-aside file's sidecar: its time left out
            objects[key] = {k: v for k, v in orjson.loads(path.read_bytes()).items() if k != "at"}
        elif "/_manifests/" in f"/{key}" and path.suffix == ".json":
            objects[key] = {k: v for k, v in orjson.loads(path.read_bytes()).items() if k != "committed_at"}
        else:
            objects[key] = path.read_bytes()
    return {"state": state, "objects": objects}


def _clean(base: Path, tmp_path: Path, engine: str) -> dict[str, Any]:
    world = _world(base, tmp_path)
    ctx, store = world.context(engine)
    _drive(ctx, world.first_document())
    store.close()
    return _snapshot(world)


PATHS = {  # engine → the steps its path runs
    "converts": ("start", "convert", "commit"),
    "fails": ("start", "convert", "fail"),
    "runs_out": ("start", "convert", "put_back"),
}


def test_each_path_ends_as_its_saga_says(base: Path, tmp_path: Path) -> None:
    ends, set_aside = {}, {}
    for engine in PATHS:
        world = _world(base, tmp_path)
        ctx, store = world.context(engine)
        doc, seen = _drive(ctx, world.first_document())
        store.close()
        assert tuple(seen) == PATHS[engine]
        ends[engine] = (doc.state, doc.next)
        assert not list((world.root / "lake" / "_manifests" / "_work").glob("*"))  # work objects removed
        set_aside[engine] = sorted(p.name for p in (world.root / "q").rglob("_rejected/*/*"))
    assert ends == {
        "converts": (Seen.SUCCEEDED, Next.END),
        "fails": (Seen.COMPENSATED, Next.END),
        "runs_out": (Seen.REQUEUED, Next.END),
    }
    # only a committed manifest keeps its truncated gzip set aside
    assert set_aside == {"converts": ["f3.ndjson.gz", "f3.ndjson.gz.rejected.json"], "fails": [], "runs_out": []}


@pytest.mark.parametrize(("engine", "step"), [(e, s) for e, steps in PATHS.items() for s in steps])
def test_a_step_run_twice_in_a_row_answers_the_same_and_leaves_what_one_run_leaves(
    base: Path, tmp_path: Path, engine: str, step: str
) -> None:
    clean = _clean(base, tmp_path, engine)
    inputs = _inputs(_world(base, tmp_path), engine)
    world = _world(base, tmp_path)
    ctx, store = world.context(engine)
    doc = world.first_document()
    for name in PATHS[engine][: PATHS[engine].index(step)]:
        doc = _step(name, ctx, doc)
    assert doc == inputs[step]
    once = _step(step, ctx, doc)
    twice = _step(step, ctx, doc)
    assert twice == once
    if _after(once) is not None:
        _drive(ctx, once, _after(once))  # type: ignore[arg-type]
    store.close()
    assert _snapshot(world) == clean


def _writes_of(base: Path, tmp_path: Path, engine: str, step: str) -> list[str]:
    """The writes a clean run of ``step`` makes, in order."""
    world = _world(base, tmp_path)
    inputs = _inputs(world, engine)
    world = _world(base, tmp_path)
    ctx, store = world.context(engine)
    doc = world.first_document()
    for name in PATHS[engine][: PATHS[engine].index(step)]:
        doc = _step(name, ctx, doc)
    faults = Faults()
    faulty, faulty_store = world.context(engine, faults)
    _step(step, faulty, inputs[step])
    store.close()
    faulty_store.close()
    return faults.writes


@pytest.mark.parametrize(("engine", "step"), [(e, s) for e, steps in PATHS.items() for s in steps])
def test_a_step_crashed_at_any_write_then_run_again_leaves_what_a_clean_run_leaves(
    base: Path, tmp_path: Path, engine: str, step: str
) -> None:
    clean = _clean(base, tmp_path, engine)
    writes = _writes_of(base, tmp_path, engine, step)
    assert writes, f"{step} writes nothing?"
    for at in range(1, len(writes) + 1):
        for when in ("before", "after"):
            world = _world(base, tmp_path)
            ctx, store = world.context(engine)
            doc = world.first_document()
            for name in PATHS[engine][: PATHS[engine].index(step)]:
                doc = _step(name, ctx, doc)
            faulty, faulty_store = world.context(engine, Faults(at, when))
            with pytest.raises(Crash):
                _step(step, faulty, doc)
            faulty_store.close()
            _drive(ctx, doc, step)  # the step again (a Step Functions retry), then the rest
            store.close()
            assert _snapshot(world) == clean, f"{engine}: {step} crashed {when} write {at} ({writes[at - 1]})"


def test_the_after_commit_hook_is_told_each_commit_and_its_failure_never_fails_the_commit(
    base: Path, tmp_path: Path
) -> None:
    clean = _clean(base, tmp_path, "converts")
    world = _world(base, tmp_path)  # the same paths, afresh
    ctx, store = world.context("converts")
    told: list[str] = []

    def hook(manifest: Any) -> None:
        told.append(manifest.state.name)
        raise RuntimeError("catalog down")

    ctx.on_committed = hook
    doc, seen = _drive(ctx, world.first_document())
    again = finish.commit(ctx, seen["commit"])  # a redelivered commit: the hook runs again (repairs)

    assert (doc.state, again.doc.state) == (Seen.SUCCEEDED, Seen.SUCCEEDED)
    assert told == ["SUCCEEDED", "SUCCEEDED"]
    store.close()
    assert _snapshot(world) == clean
