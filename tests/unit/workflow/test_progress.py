"""Progress while a manifest converts: the engine tells each file it read, the bar advances before the commit."""

from __future__ import annotations

import gzip
from pathlib import Path

from ndjson2parquet.config.settings import BatchPolicy, RunOptions
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, InputFile
from ndjson2parquet.ingest.sources import LocalSource
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.workflow.executor import Layout
from ndjson2parquet.workflow.pipeline import Pipeline, Progress


def _files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(3):
        path = folder / f"{i}.ndjson"
        path.write_text("".join(f'{{"i": {i}, "n": {n}}}\n' for n in range(10)))
        paths.append(path)
    broken = folder / "broken.ndjson.gz"
    broken.write_bytes(gzip.compress(b'{"a": 1}\n' * 100)[:20])  # rejected, but read all the same
    return [*paths, broken]


def test_the_engine_tells_the_files_it_read_with_their_sizes(tmp_path: Path) -> None:
    paths = _files(tmp_path / "in")
    told: list[tuple[int, int]] = []
    job = ConversionJob(
        manifest_id="m",
        dataset="d",
        date="2025-01-02",
        files=tuple(InputFile(str(i), str(p), p.stat().st_size) for i, p in enumerate(paths)),
        output_root=str(tmp_path / "lake"),
        quarantine_root=str(tmp_path / "q"),
        on_file_read=lambda files, size: told.append((files, size)),
    )
    ArrowEngine().convert(job)
    assert sum(f for f, _ in told) == len(paths) and sum(b for _, b in told) == sum(p.stat().st_size for p in paths)


def test_the_progress_callback_sees_files_read_before_their_manifest_commits(tmp_path: Path) -> None:
    paths = _files(tmp_path / "in" / "2025-01-02")
    store = SqliteStore(tmp_path / "state.db")
    options = RunOptions(batch=BatchPolicy(max_files=100), store=store.policy, workers=1)
    pipeline = Pipeline(store, ArrowEngine(), Layout(str(tmp_path / "lake"), str(tmp_path / "q")), options)
    seen: list[Progress] = []
    pipeline.run(LocalSource(tmp_path / "in"), seen.append)
    during = [p for p in seen if p.files_done == 0 and p.files_reading]
    # one manifest: its files read (told in batches), none committed yet
    assert during and during[-1].bytes_reading == sum(p.stat().st_size for p in paths)
    assert (seen[-1].files_done, seen[-1].files_reading) == (4, 0)
