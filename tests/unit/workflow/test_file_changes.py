"""Files that change: written while listed, appended, touched, rewritten, changed before their run."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from ndjson2parquet.config.settings import BatchPolicy, ConversionOptions, OnChanged, RunOptions
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.domain.records import CHANGED_SINCE_REGISTRATION
from ndjson2parquet.domain.states import FileState
from ndjson2parquet.ingest.registration import ingest
from ndjson2parquet.ingest.sources import LocalSource
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.workflow.executor import Layout
from ndjson2parquet.workflow.pipeline import Pipeline
from ndjson2parquet.workflow.verify import verify_date

DATE = "2026-11-25"


def _pipeline(tmp_path: Path, **options: object) -> Pipeline:
    store = SqliteStore(tmp_path / "state.db")
    run_options = RunOptions(
        batch=BatchPolicy(max_wait_s=0.0),
        conversion=ConversionOptions(lineage=True),
        store=store.policy,
        **{"settle_s": 0.0, **options},  # type: ignore[arg-type]
    )
    return Pipeline(store, ArrowEngine(), Layout(str(tmp_path / "lake"), str(tmp_path / "q")), run_options)


def _lines(first: int, last: int) -> bytes:
    return b"".join(orjson.dumps({"n": n}) + b"\n" for n in range(first, last + 1))


def _landing(tmp_path: Path, data: bytes) -> Path:
    folder = tmp_path / "in" / DATE
    folder.mkdir(parents=True)
    path = folder / "a.ndjson"
    path.write_bytes(data)
    return path


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def _rows(tmp_path: Path) -> list[tuple[int, int]]:
    """(n, _source_line) of every row in the lake."""
    out = []
    for part in sorted((tmp_path / "lake").rglob("part-*.parquet")):
        table = pq.read_table(part, columns=["n", "_source_line"])
        out += list(zip(table.column("n").to_pylist(), table.column("_source_line").to_pylist(), strict=True))
    return out


def test_a_file_appended_after_conversion_converts_only_its_new_lines_numbered_on(tmp_path: Path) -> None:
    path = _landing(tmp_path, _lines(1, 3))
    pipeline = _pipeline(tmp_path)
    pipeline.run(LocalSource(tmp_path / "in"))
    _append(path, _lines(4, 5))
    report = pipeline.run(LocalSource(tmp_path / "in"))

    assert sorted(_rows(tmp_path)) == [(n, n) for n in range(1, 6)]  # each line once, line numbers go on
    assert report.ingest["continued"] == 1 and report.ingest["changed"] == []
    first, second = pipeline.store.files_by_uri(str(path))
    assert (first.ledger.start_offset, first.ledger.end_offset, first.ledger.lines) == (0, len(_lines(1, 3)), 3)
    assert (second.ledger.start_offset, second.ledger.end_offset) == (len(_lines(1, 3)), path.stat().st_size)
    assert (second.ledger.first_line, second.ledger.lines) == (4, 2)
    assert second.state == FileState.DONE
    assert verify_date(pipeline.store, "default", DATE).ok


def test_touching_a_converted_file_is_not_a_new_version(tmp_path: Path) -> None:
    path = _landing(tmp_path, _lines(1, 3))
    pipeline = _pipeline(tmp_path)
    pipeline.run(LocalSource(tmp_path / "in"))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    report = pipeline.run(LocalSource(tmp_path / "in"))

    assert sorted(_rows(tmp_path)) == [(n, n) for n in range(1, 4)]
    assert report.ingest["unchanged"] == 1 and report.ingest["new"] == 0
    assert len(pipeline.store.files_by_uri(str(path))) == 1


def test_a_rewritten_file_is_reported_and_not_converted_again(tmp_path: Path) -> None:
    path = _landing(tmp_path, _lines(1, 3))
    pipeline = _pipeline(tmp_path)
    pipeline.run(LocalSource(tmp_path / "in"))
    path.write_bytes(_lines(7, 10))
    report = pipeline.run(LocalSource(tmp_path / "in"))

    assert sorted(_rows(tmp_path)) == [(n, n) for n in range(1, 4)]  # nothing of the new content, nothing twice
    (changed,) = report.ingest["changed"]
    assert changed["uri"] == str(path) and "rewritten" in changed["reason"]
    assert changed["action"] == "reported, not converted"
    assert [r.state for r in pipeline.store.files_by_uri(str(path))] == [FileState.DONE, FileState.CHANGED]
    assert [r.uri for r in pipeline.store.changed("default", DATE, 10).items] == [str(path)]
    again = pipeline.run(LocalSource(tmp_path / "in"))  # still reported while it stands
    assert again.ingest["changed"][0]["action"] == "reported earlier, not converted"


def test_a_truncated_file_is_reported_as_changed(tmp_path: Path) -> None:
    path = _landing(tmp_path, _lines(1, 3))
    pipeline = _pipeline(tmp_path)
    pipeline.run(LocalSource(tmp_path / "in"))
    path.write_bytes(_lines(1, 2))
    report = pipeline.run(LocalSource(tmp_path / "in"))

    assert "truncated" in report.ingest["changed"][0]["reason"]
    assert sorted(_rows(tmp_path)) == [(n, n) for n in range(1, 4)]


def test_a_rewritten_file_is_converted_as_a_new_version_when_the_policy_says_so(tmp_path: Path) -> None:
    path = _landing(tmp_path, _lines(1, 3))
    _pipeline(tmp_path).run(LocalSource(tmp_path / "in"))
    path.write_bytes(_lines(7, 8))
    pipeline = _pipeline(tmp_path, on_changed=OnChanged.NEW_VERSION)
    report = pipeline.run(LocalSource(tmp_path / "in"))

    assert sorted(_rows(tmp_path)) == [(1, 1), (2, 2), (3, 3), (7, 1), (8, 2)]
    assert report.ingest["changed"][0]["action"] == "converted as a new version"
    old, new = pipeline.store.files_by_uri(str(path))
    assert new.changed_from == old.file_id and new.state == FileState.DONE
    assert verify_date(pipeline.store, "default", DATE).problems == [
        f"{path}: cannot be verified: its first {old.ledger.end_offset} bytes changed since they were converted"
    ]


def test_a_changed_file_reported_earlier_is_converted_once_the_policy_allows_it(tmp_path: Path) -> None:
    path = _landing(tmp_path, _lines(1, 3))
    _pipeline(tmp_path).run(LocalSource(tmp_path / "in"))
    path.write_bytes(_lines(7, 8))
    _pipeline(tmp_path).run(LocalSource(tmp_path / "in"))  # reported, CHANGED
    pipeline = _pipeline(tmp_path, on_changed=OnChanged.NEW_VERSION)
    pipeline.run(LocalSource(tmp_path / "in"))

    assert sorted(_rows(tmp_path)) == [(1, 1), (2, 2), (3, 3), (7, 1), (8, 2)]
    assert [r.state for r in pipeline.store.files_by_uri(str(path))] == [FileState.DONE, FileState.DONE]


def test_a_file_changed_between_ingest_and_run_is_not_converted_under_its_old_version(tmp_path: Path) -> None:
    path = _landing(tmp_path, _lines(1, 3))
    pipeline = _pipeline(tmp_path)
    ingest(LocalSource(tmp_path / "in"), pipeline.store, pipeline.options.partitioner)
    (registered,) = pipeline.store.files_by_uri(str(path))
    _append(path, _lines(4, 5))
    # the listing of this run sees the new version while the old one waits: it supersedes it, unless
    # a worker claimed the old one first (conversion overlaps the listing): then the engine refuses it
    pipeline.run(LocalSource(tmp_path / "in"))

    assert sorted(_rows(tmp_path)) == [(n, n) for n in range(1, 6)]
    old, new = pipeline.store.files_by_uri(str(path))
    assert old.file_id == registered.file_id and old.state == FileState.REJECTED
    assert (old.ledger.rejection or "").startswith(CHANGED_SINCE_REGISTRATION)
    assert (new.state, new.ledger.lines, new.ledger.start_offset) == (FileState.DONE, 5, 0)
    assert verify_date(pipeline.store, "default", DATE).ok


def test_the_engine_refuses_a_file_that_changed_after_its_version_was_registered(tmp_path: Path) -> None:
    path = _landing(tmp_path, _lines(1, 3))
    pipeline = _pipeline(tmp_path)
    ingest(LocalSource(tmp_path / "in"), pipeline.store, pipeline.options.partitioner)
    path.write_bytes(_lines(1, 3).replace(b"3", b"9"))  # same size, new bytes and modification time
    (claim,) = pipeline.planner.close_ready(drain=True)
    pipeline.executor.execute(claim.manifest.manifest_id, claim.files)

    (record,) = pipeline.store.files_by_uri(str(path))
    assert record.state == FileState.REJECTED and record.ledger.rejection.startswith(CHANGED_SINCE_REGISTRATION)
    assert _rows(tmp_path) == []
    pipeline.run(LocalSource(tmp_path / "in"))  # the next listing registers what the file is now
    assert sorted(_rows(tmp_path)) == [(1, 1), (2, 2), (9, 3)]


def test_a_file_still_being_written_is_not_registered_until_it_settles(tmp_path: Path) -> None:
    path = _landing(tmp_path, _lines(1, 2))
    pipeline = _pipeline(tmp_path)
    report = ingest(LocalSource(tmp_path / "in"), pipeline.store, pipeline.options.partitioner, settle_s=60.0)
    assert report.unsettled == [str(path)] and report.new == 0
    later = time.time() + 61
    report = ingest(LocalSource(tmp_path / "in"), pipeline.store, pipeline.options.partitioner, later, settle_s=60.0)
    assert report.unsettled == [] and report.new == 1


def test_run_waits_for_a_file_still_settling_instead_of_leaving_it_out(tmp_path: Path) -> None:
    _landing(tmp_path, _lines(1, 2))
    pipeline = _pipeline(tmp_path, settle_s=0.3)
    report = pipeline.run(LocalSource(tmp_path / "in"))
    assert sorted(_rows(tmp_path)) == [(1, 1), (2, 2)] and report.ingest["unsettled"] == []


def _watch_while_writing(tmp_path: Path, settle_s: float) -> Counter[int]:
    """A file written line by line while `watch` polls: how often each line landed in the lake."""
    folder = tmp_path / "in" / DATE
    folder.mkdir(parents=True)
    path = folder / "a.ndjson"
    path.write_bytes(b"")
    pipeline = _pipeline(tmp_path, settle_s=settle_s)
    stop = threading.Event()
    watcher = threading.Thread(
        target=pipeline.watch, args=(LocalSource(tmp_path / "in"), stop), kwargs={"poll_s": 0.02}
    )
    watcher.start()
    try:
        for n in range(1, 41):
            _append(path, _lines(n, n))  # one whole line per write
            time.sleep(0.02)
        deadline = time.monotonic() + 30
        while len(_rows(tmp_path)) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # a duplicate would land now
    finally:
        stop.set()
        watcher.join()
    assert verify_date(pipeline.store, "default", DATE).ok
    return Counter(n for n, _ in _rows(tmp_path))


def test_a_file_written_line_by_line_while_watch_polls_lands_each_line_once(tmp_path: Path) -> None:
    assert _watch_while_writing(tmp_path, settle_s=0.5) == Counter(range(1, 41))


def test_without_a_settle_period_a_growing_file_is_converted_in_continuations_each_line_once(tmp_path: Path) -> None:
    assert _watch_while_writing(tmp_path, settle_s=0.0) == Counter(range(1, 41))


def test_a_touched_file_is_hashed_once_not_at_every_listing(tmp_path: Path) -> None:
    path = _landing(tmp_path, _lines(1, 3))
    pipeline = _pipeline(tmp_path)
    pipeline.run(LocalSource(tmp_path / "in"))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    reads: list[str] = []

    class Counting(LocalSource):
        def read_prefix(self, uri: str, n: int) -> bytes:
            reads.append(uri)
            return super().read_prefix(uri, n)

    for _ in range(3):
        assert pipeline.run(Counting(tmp_path / "in")).ingest["unchanged"] == 1
    assert reads == [str(path)]
