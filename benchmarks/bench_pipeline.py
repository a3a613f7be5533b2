"""The product benchmark: `ndjson2parquet run` against the DuckDB and Polars one-liners.

For a generated data set of N event records (default 1,000,000, ~240 MB) in two shapes, 20 large
files and 100,000 small files, all in one date, this runs one contender after the other, each in
its own child process, ``--repeat`` times round-robin (default 3), and prints the median and best
wall time, peak RSS and the median's ratio to the faster one-liner, then checks the goals on the
medians:

* large files: the product within 1.2x of the faster one-liner;
* 100,000 small files: the product at least as fast as both one-liners;
* both shapes: the product's peak RSS under 1 GB.

Peak RSS is the larger of two measurements of the child: its process tree's summed RSS sampled
every 20 ms with psutil (sees worker processes, slightly over-counts pages they share) and the
`ru_maxrss` that `wait4` reports for it (exact for one process, catches peaks between samples).
All contenders read from a warm page cache: the data was just written, and each run reads it whole.

Usage:
    .venv/bin/python benchmarks/bench_pipeline.py [--records N] [--shapes large,small]
        [--keep DIR] [--workers N] [--timeout SECONDS] [--small-files N] [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ndjson2parquet.sample import generate

SHAPES = {"large": 20, "small": 100_000}
GOAL_LARGE_RATIO = 1.2
GOAL_RSS_BYTES = 1 << 30
SAMPLE_SECONDS = 0.02

# The one-liners, run with `python -c CODE GLOB OUT`. The glob matches all three key layouts.
# hive_partitioning=false keeps DuckDB from adding year/month/day columns for `year=…` paths:
# the other contenders add none, and it must not depend on which file the glob lists first.
DUCKDB_CODE = """
import sys, duckdb
src = f"read_ndjson('{sys.argv[1]}', hive_partitioning=false)"
duckdb.sql(f"COPY (SELECT * FROM {src}) TO '{sys.argv[2]}' (FORMAT parquet)")
"""
POLARS_CODE = """
import sys, polars as pl
pl.scan_ndjson(sys.argv[1]).sink_parquet(sys.argv[2])
"""


@dataclass
class Result:
    """One contender on one shape: the median of its runs (the goals are judged on it), and its best."""

    shape: str
    contender: str
    seconds: float | None = None
    peak_rss: int | None = None
    rows: int | None = None
    error: str | None = None
    runs: list[float] = field(default_factory=list)


def _tree_rss(proc: psutil.Process) -> int:
    """Summed RSS of a process and its descendants; processes that vanish meanwhile count 0."""
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def measure(argv: list[str], cwd: Path, timeout: float) -> tuple[float, int, int, str]:
    """Run argv; return (seconds, peak RSS bytes, exit code, tail of stderr)."""
    err_path = cwd / f".stderr-{time.monotonic_ns()}"
    with open(err_path, "wb") as err:
        started = time.perf_counter()
        # A session of its own, so a timeout can kill the whole tree (workers included).
        proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            try:
                ps = psutil.Process(proc.pid)
            except psutil.Error:
                return
            while not done.is_set():
                peak = max(peak, _tree_rss(ps))
                done.wait(SAMPLE_SECONDS)

        def kill() -> None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout, kill)
        timer.start()
        # wait4 rather than proc.wait(): it also hands back the child's own rusage (ru_maxrss in KiB).
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        timer.cancel()
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    tail = err_path.read_text(errors="replace").strip().splitlines()[-8:]
    err_path.unlink()
    return seconds, max(peak, usage.ru_maxrss * 1024), proc.returncode, "\n".join(tail)


def count_rows(pattern: str) -> int | None:
    """Rows in the Parquet files matching pattern (a sanity check that nothing went missing)."""
    import duckdb  # imported late: the parent's memory is not measured, but keep start-up quick

    try:
        return duckdb.sql(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchall()[0][0]
    except duckdb.Error:
        return None


def prepare(root: Path, shape: str, records: int) -> tuple[Path, float | None]:
    """The shape's data set under root, generated unless a matching one is already there."""
    data = root / f"data-{shape}-{records}"
    marker = data / ".generated.json"
    files = SHAPES[shape]
    if marker.exists() and json.loads(marker.read_text()) == {"files": files, "records": records}:
        return data, None
    shutil.rmtree(data, ignore_errors=True)
    started = time.perf_counter()
    generate(data, files=files, records=records, days=1, seed=0)
    seconds = time.perf_counter() - started
    marker.write_text(json.dumps({"files": files, "records": records}))
    return data, seconds


def run_shape(
    root: Path, shape: str, records: int, workers: int | None, timeout: float, keep: bool, repeat: int
) -> list[Result]:
    """All three contenders on one shape, one after the other, ``repeat`` times."""
    data, gen_seconds = prepare(root, shape, records)
    size = sum(p.stat().st_size for p in data.rglob("*.ndjson*"))
    how = "reused" if gen_seconds is None else f"generated in {gen_seconds:.1f} s"
    print(f"\n== {shape}: {SHAPES[shape]:,} files, {records:,} records, {size / 1e6:.0f} MB ({how})", flush=True)
    glob = f"{data}/**/*.ndjson"
    out = root / f"out-{shape}-{records}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)

    product_out = out / "product"
    # --settle-seconds 0: the generated files are complete; the other contenders wait for nothing either
    product = [sys.executable, "-m", "ndjson2parquet", "run", "--input", str(data), "--output", str(product_out)]
    product += ["--settle-seconds", "0"]
    if workers:
        product += ["--workers", str(workers)]
    contenders = [
        ("ndjson2parquet run", product, f"{product_out}/**/*.parquet"),
        ("duckdb read_ndjson", [sys.executable, "-c", DUCKDB_CODE, glob, str(out / "duckdb.parquet")],
         str(out / "duckdb.parquet")),
        ("polars scan_ndjson", [sys.executable, "-c", POLARS_CODE, glob, str(out / "polars.parquet")],
         str(out / "polars.parquet")),
    ]  # fmt: skip
    results = {name: Result(shape, name) for name, _, _ in contenders}
    for attempt in range(1, repeat + 1):  # round-robin: a busy moment of a shared machine hits every contender
        for name, argv, written in contenders:
            result = results[name]
            if result.error:
                continue
            work = out / f"cwd-{name.split()[0]}"  # a default state file of the product lands here, not in the repo
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            print(f"  {name} (run {attempt}/{repeat}) ...", end=" ", flush=True)
            seconds, peak, code, tail = measure(argv, work, timeout)
            if code != 0:
                result.error = f"exit {code}: {tail or '(no stderr)'}"
                print(f"FAILED after {seconds:.1f} s\n    " + result.error.replace("\n", "\n    "), flush=True)
            else:
                result.runs.append(seconds)
                result.peak_rss = max(result.peak_rss or 0, peak)
                result.rows = count_rows(written)
                print(f"{seconds:.2f} s, {peak / 2**20:.0f} MB, {result.rows} rows", flush=True)
                if result.rows != records:
                    print(f"    WARNING: expected {records:,} rows", flush=True)
            # Free the disk before the next run; the data set itself is reused.
            for path in (product_out, out / "duckdb.parquet", out / "polars.parquet"):
                if keep and attempt == repeat:
                    continue  # --keep: the last outputs stay for a look
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
    for result in results.values():
        if result.runs and not result.error:
            result.seconds = statistics.median(result.runs)
    return list(results.values())


def _baseline(results: list[Result], shape: str) -> float | None:
    times = [r.seconds for r in results if r.shape == shape and r.contender != "ndjson2parquet run" and not r.error]
    return min(times) if times else None  # type: ignore[type-var]


def table_rows(results: list[Result]) -> list[list[str]]:
    """Shape, contender, median and best seconds, peak RSS MB, median ratio to the faster one-liner."""
    rows = []
    for r in results:
        base = _baseline(results, r.shape)
        ok = r.error is None and r.seconds is not None
        rows.append([
            r.shape,
            r.contender,
            f"{r.seconds:.2f}" if ok else "failed",
            f"{min(r.runs):.2f}" if ok else "-",
            f"{r.peak_rss / 2**20:.0f}" if ok and r.peak_rss else "-",
            f"{r.seconds / base:.2f}x" if ok and base else "-",
        ])  # fmt: skip
    return rows


HEADER = ["shape", "contender", "median s", "best s", "peak RSS MB", "vs faster one-liner (median)"]


def print_tables(results: list[Result]) -> None:
    """The table for the terminal, then the same as Markdown for the README."""
    rows = table_rows(results)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(HEADER)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print("\nMarkdown:\n")
    markdown_table(HEADER, rows)


def markdown_table(header: list[str], rows: list[list[str]]) -> None:
    """A Markdown table: the first two columns left-aligned (names), the rest right-aligned (numbers)."""
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def check_goals(results: list[Result]) -> None:
    """PASS / FAIL / n/a per goal of the product."""

    def product(shape: str) -> Result | None:
        found = [r for r in results if r.shape == shape and r.contender == "ndjson2parquet run"]
        return found[0] if found and not found[0].error else None

    print("\nGoals:")
    large, small = product("large"), product("small")
    base = _baseline(results, "large")
    if large and base:
        ratio = large.seconds / base  # type: ignore[operator]
        verdict = "PASS" if ratio <= GOAL_LARGE_RATIO else "FAIL"
        print(f"  [{verdict}] large files: within {GOAL_LARGE_RATIO}x of the faster one-liner ({ratio:.2f}x)")
    else:
        print(f"  [n/a ] large files: within {GOAL_LARGE_RATIO}x of the faster one-liner")
    others = [r for r in results if r.shape == "small" and r.contender != "ndjson2parquet run" and not r.error]
    if small and others:
        slowest_ok = all(small.seconds <= r.seconds for r in others)  # type: ignore[operator]
        detail = ", ".join(f"{r.contender} {r.seconds:.1f} s" for r in others)
        print(f"  [{'PASS' if slowest_ok else 'FAIL'}] {SHAPES['small']:,} small files: at least as fast as both "
              f"({small.seconds:.1f} s vs {detail})")  # fmt: skip
    else:
        print(f"  [n/a ] {SHAPES['small']:,} small files: at least as fast as both one-liners")
    for shape, r in (("large", large), ("small", small)):
        if r and r.peak_rss:
            verdict = "PASS" if r.peak_rss < GOAL_RSS_BYTES else "FAIL"
            print(f"  [{verdict}] {shape}: peak RSS under 1 GB ({r.peak_rss / 2**20:.0f} MB)")
        elif any(x.shape == shape for x in results):
            print(f"  [n/a ] {shape}: peak RSS under 1 GB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records per data set (default 1,000,000)")
    parser.add_argument("--shapes", default="large,small", help="comma-separated: large (20 files), small (100,000)")
    parser.add_argument("--keep", type=Path, help="keep data and outputs here (data found here is reused)")
    parser.add_argument("--workers", type=int, help="passed to `ndjson2parquet run --workers`")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before a contender is killed")
    parser.add_argument("--small-files", type=int, default=SHAPES["small"], help="files of the small shape")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each contender per shape (default 3)")
    args = parser.parse_args()
    SHAPES["small"] = args.small_files  # a quick run may use fewer; the goal is stated for 100,000
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = set(shapes) - set(SHAPES)
    if unknown or not shapes:
        parser.error(f"--shapes takes {', '.join(SHAPES)}; got {args.shapes!r}")

    import duckdb
    import polars

    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM, duckdb {duckdb.__version__}, "
          f"polars {polars.__version__}")  # fmt: skip
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-ndjson2parquet-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        results: list[Result] = []
        for shape in shapes:
            results += run_shape(root, shape, args.records, args.workers, args.timeout, bool(args.keep), args.repeat)
        print_tables(results)
        check_goals(results)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
