"""State store figures: SQLite registration throughput, and claiming from a 1,000,000-file backlog.

Run: .venv/bin/python benchmarks/bench_state.py [--files 100000] [--backlog 1000000]
Prints figures beside their goals; asserts nothing about time (machines differ).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.state.sqlite import SqliteStore

DATASET, DATE = "events", "2026-11-25"


def generate(n: int, prefix: str) -> Iterator[FileRecord]:
    """n records, produced lazily so the generator itself holds no backlog in memory."""
    for i in range(n):
        yield FileRecord.new(
            DATASET, DATE, ObjectInfo(f"s3://in/{prefix}/{i:08d}.ndjson", str(i), "v1", 1000, 1.0), 1_000.0 + i
        )


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_registration(folder: Path, n: int) -> None:
    store = SqliteStore(folder / "register.db")
    started = time.perf_counter()
    batch = list(generate(n, "reg"))  # built first: the figure is the store's, not the record factory's
    print(f"    building {n:,} FileRecords (ids hashed): {time.perf_counter() - started:.2f}s")
    started = time.perf_counter()
    result = store.register(batch)
    elapsed = time.perf_counter() - started
    assert result.new == n
    print(f"(a) register {n:,} files into SQLite: {elapsed:.2f}s = {n / elapsed:,.0f} files/s (goal >= 50,000/s)")
    started = time.perf_counter()
    again = store.register(batch)
    elapsed = time.perf_counter() - started
    print(f"    re-register the same {n:,}: {elapsed:.2f}s = {n / elapsed:,.0f} files/s, new={again.new}")
    store.close()


def bench_backlog(folder: Path, n: int, max_files: int, manifests: int) -> None:
    store = SqliteStore(folder / "backlog.db")
    started = time.perf_counter()
    store.register(generate(n, "backlog"))
    print(f"(b) backlog of {n:,} pending files registered in {time.perf_counter() - started:.1f}s")
    started = time.perf_counter()
    page = store.pending(DATASET, DATE, max_files)
    first_page = time.perf_counter() - started
    started = time.perf_counter()
    claimed = 0
    for _ in range(manifests):
        page = store.pending(DATASET, DATE, max_files)
        manifest = store.claim(page.items, "max_files")
        claimed += len(manifest.file_ids) if manifest else 0
    elapsed = time.perf_counter() - started
    print(f"    first page of {max_files}: {first_page * 1000:.1f} ms")
    print(
        f"    list + claim {manifests} manifests of {max_files} ({claimed:,} files): {elapsed:.2f}s"
        f" = {elapsed / manifests * 1000:.1f} ms per manifest"
    )
    started = time.perf_counter()
    status = store.date_status(DATASET, DATE)
    print(f"    date_status counts {status.files if status else None}: {(time.perf_counter() - started) * 1000:.0f} ms")
    print(f"    peak RSS of the process: {peak_rss_mb():.0f} MB (goal < 300 MB)")
    store.close()


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks in a temporary folder."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--max-files", type=int, default=1_000)
    parser.add_argument("--manifests", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-state-") as tmp:
        bench_registration(Path(tmp), args.files)
        bench_backlog(Path(tmp), args.backlog, args.max_files, args.manifests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
