"""ArrowEngine against DuckDB and Polars one-liners and the bare native path, on the same generated records.

Prints figures, never asserts. Each contender runs in its own subprocess, so the peak RSS printed is
that contender's own (``VmHWM`` of the child, read by the child at its end; not ``ru_maxrss``, which on
Linux keeps the parent's peak across the fork and exec: ~300 MiB of generated records here). Every contender runs
``--repeat`` times (default 2), round-robin, so a busy moment of a shared machine hits all of them;
the best and the median are printed, and the ratios are given for both.

    .venv/bin/python benchmarks/bench_engine.py                    # 1,000,000 records, ~210 MB
    .venv/bin/python benchmarks/bench_engine.py --records 100000   # a quick run
    .venv/bin/python benchmarks/bench_engine.py --skip-small       # large files only

Layouts: (a) 20 large files; (b) ``--small-files`` small files (default 100,000); (c) the large
files again with 1% of lines made bad (truncated, garbage, NaN, a bare array), engine only, against
the same files clean.

Contenders: ``engine`` (ArrowEngine, default options), ``duckdb`` (``COPY (SELECT * FROM
read_ndjson([...])) TO 'x.parquet'``), ``polars`` (``scan_ndjson(files).sink_parquet``) and
``baseline``: the bare native path "before validation existed", ``pyarrow.json.read_json`` of each
file and one ``pyarrow.parquet.write_table`` per manifest with the engine's compression and row
groups, no screening, no schema work (it would crash on a bare ``null`` line, and guesses timestamps).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

MiB = 1024 * 1024
JOB_BYTES = 256 * MiB
NAMES = ["Zoë", "Łukasz", "Ægir", "Jürgen", "Nuño", "Søren", "Chloé", "Dmitrij", "Mei 美", "Ana"]
TYPES = ["click", "view", "purchase", "signup", "logout"]


def make_record(rng: random.Random, index: int) -> dict[str, object]:
    """One event-like record (~230 bytes): nested object, array, unicode, ints, floats, bools, nulls."""
    return {
        "event_id": index,
        "ts": f"2026-11-25T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z",
        "type": rng.choice(TYPES),
        "user": {"id": rng.randrange(10**9), "name": rng.choice(NAMES), "premium": rng.random() < 0.1},
        "tags": rng.sample(["a", "b", "c", "d", "e", "f"], rng.randrange(4)),
        "amount": round(rng.random() * 1000, 2),
        "session": None if rng.random() < 0.3 else f"s-{rng.randrange(10**6):06d}",
        "geo": {"lat": round(rng.uniform(-90, 90), 5), "lon": round(rng.uniform(-180, 180), 5)},
        "ok": rng.random() < 0.5,
    }


def generate(folder: Path, records: int, large_files: int, small_files: int, skip_small: bool) -> dict[str, list[Path]]:
    rng = random.Random(42)
    lines = [orjson.dumps(make_record(rng, i)) + b"\n" for i in range(records)]
    layouts: dict[str, list[Path]] = {}
    large = folder / "large"
    large.mkdir(parents=True)
    per_file = -(-records // large_files)
    layouts["large"] = []
    for n in range(large_files):
        path = large / f"events-{n:03d}.ndjson"
        path.write_bytes(b"".join(lines[n * per_file : (n + 1) * per_file]))
        layouts["large"].append(path)
    bad = folder / "bad"
    bad.mkdir()
    layouts["bad"] = []
    bad_rng = random.Random(7)
    for path in layouts["large"]:
        out = []
        for line in path.read_bytes().splitlines(keepends=True):
            if bad_rng.random() < 0.01:
                kind = bad_rng.randrange(4)
                line = [line[: len(line) // 2] + b"\n", b"not json at all\n", b'{"x": NaN}\n', b"[1,2,3]\n"][kind]
            out.append(line)
        target = bad / path.name
        target.write_bytes(b"".join(out))
        layouts["bad"].append(target)
    if not skip_small:
        small = folder / "small"
        per_small = max(1, records // small_files)
        layouts["small"] = []
        for n in range(small_files):
            sub = small / f"{n // 1000:03d}"
            if n % 1000 == 0:
                sub.mkdir(parents=True)
            path = sub / f"e-{n:06d}.ndjson"
            path.write_bytes(b"".join(lines[n * per_small : (n + 1) * per_small]))
            layouts["small"].append(path)
    return layouts


# --- contenders (run inside a child process) -------------------------------------------------


def run_engine(files: list[Path], out: Path) -> int:
    from ndjson2parquet.config.settings import ConversionOptions
    from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
    from ndjson2parquet.conversion.engine import ConversionJob, InputFile

    jobs: list[list[InputFile]] = []
    index = 0
    for batch in _batches(files):
        jobs.append([])
        for path in batch:
            jobs[-1].append(InputFile(file_id=str(index), uri=str(path), size=path.stat().st_size))
            index += 1
    engine = ArrowEngine()
    rows = 0
    schema = None
    for number, batch in enumerate(jobs):
        job = ConversionJob(
            manifest_id=f"bench-{number}",
            dataset="events",
            date="2026-11-25",
            files=tuple(batch),
            output_root=str(out / "lake"),
            quarantine_root=str(out / "quarantine"),
            options=ConversionOptions(),
            schema_json=schema,
        )
        result = engine.convert(job)
        schema = result.schema_json
        rows += result.rows_written
    return rows


def run_baseline(files: list[Path], out: Path) -> int:
    import pyarrow as pa
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    from ndjson2parquet.config.settings import ConversionOptions

    options = ConversionOptions()
    rows = 0
    for number, batch in enumerate(_batches(files)):
        tables = [pj.read_json(path) for path in batch]
        table = pa.concat_tables(tables, promote_options="permissive")
        pq.write_table(
            table,
            out / f"part-{number}.parquet",
            compression=options.compression,
            row_group_size=options.row_group_rows,
        )
        rows += table.num_rows
    return rows


def _batches(files: list[Path]) -> list[list[Path]]:
    """Files grouped as the engine's manifests are here (up to JOB_BYTES each)."""
    batches: list[list[Path]] = [[]]
    size = 0
    for path in files:
        length = path.stat().st_size
        if batches[-1] and size + length > JOB_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(path)
        size += length
    return batches


def run_duckdb(files: list[Path], out: Path) -> int:
    import duckdb

    target = out / "x.parquet"
    listing = "[" + ",".join(f"'{p}'" for p in files) + "]"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_ndjson({listing})) TO '{target}' (FORMAT parquet)")
    return con.execute(f"SELECT count(*) FROM '{target}'").fetchone()[0]


def run_polars(files: list[Path], out: Path) -> int:
    import polars as pl

    target = out / "x.parquet"
    pl.scan_ndjson([str(p) for p in files]).sink_parquet(str(target))
    return pl.scan_parquet(str(target)).select(pl.len()).collect().item()


CONTENDERS = {"engine": run_engine, "baseline": run_baseline, "duckdb": run_duckdb, "polars": run_polars}
MODULES = {
    "engine": "ndjson2parquet.conversion.arrow.arrow_engine",
    "baseline": "pyarrow.json",
    "duckdb": "duckdb",
    "polars": "polars",
}


def child(contender: str, listing: Path, out: Path) -> None:
    files = [Path(line) for line in listing.read_text().splitlines()]
    # import outside the timed region: every contender pays only for its work
    __import__(MODULES[contender])
    if contender == "baseline":
        __import__("pyarrow.parquet")
    started = time.perf_counter()
    rows = CONTENDERS[contender](files, out)
    seconds = time.perf_counter() - started
    peak_mib = peak_rss_mib()
    sys.stdout.write(json.dumps({"seconds": seconds, "rows": rows, "peak_mib": peak_mib}) + "\n")


def peak_rss_mib() -> float:
    """This process's own peak resident memory (``VmHWM``; ``ru_maxrss`` where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(contender: str, files: list[Path], work: Path, timeout: float = 900.0) -> dict[str, float]:
    out = work / f"out-{contender}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    listing = work / "listing.txt"
    listing.write_text("\n".join(str(p) for p in files))
    command = [sys.executable, __file__, "--child", contender, "--listing", str(listing), "--out", str(out)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        shutil.rmtree(out, ignore_errors=True)
        return {"error": f"did not finish within {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else f"exit {done.returncode}"}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)
    return figures


def measure_all(contenders: list[str], files: list[Path], work: Path, repeat: int, timeout: float) -> dict[str, list]:
    """Every contender ``repeat`` times, round-robin; the figures of each run, by contender."""
    runs: dict[str, list[dict[str, float]]] = {c: [] for c in contenders}
    for _ in range(repeat):
        for contender in contenders:
            runs[contender].append(measure(contender, files, work, timeout))
    return runs


def summary(figures: list[dict[str, float]]) -> dict[str, float]:
    """Best and median seconds, the largest peak RSS, the rows; or the first error."""
    good = [f for f in figures if "seconds" in f]
    if not good:
        return {"error": figures[0].get("error", "no run")}
    seconds = [f["seconds"] for f in good]
    return {
        "best": min(seconds),
        "median": statistics.median(seconds),
        "peak_mib": max(f["peak_mib"] for f in good),
        "rows": good[0]["rows"],
        "runs": len(good),
    }


def report(title: str, runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    results = {name: summary(figures) for name, figures in runs.items()}
    sys.stdout.write(f"\n== {title}\n")
    best = {name: r["best"] for name, r in results.items() if "best" in r}
    for name, figures in results.items():
        if "error" in figures:
            sys.stdout.write(f"  {name:8s} FAILED: {figures['error']}\n")
            continue
        times = ", ".join(f"{f['seconds']:.2f}" for f in runs[name] if "seconds" in f)
        sys.stdout.write(
            f"  {name:8s} best {figures['best']:6.2f} s  median {figures['median']:6.2f} s  "
            f"{figures['rows']:>9,} rows  peak {figures['peak_mib']:6.0f} MiB  "
            f"x{figures['best'] / min(best.values()):.2f} of fastest  (runs: {times})\n"
        )
    if "engine" in best:
        for name in best:
            if name != "engine":
                sys.stdout.write(
                    f"  engine / {name}: {results['engine']['best'] / results[name]['best']:.2f} (best), "
                    f"{results['engine']['median'] / results[name]['median']:.2f} (median)\n"
                )
        one_liners = [n for n in ("duckdb", "polars") if n in best]
        if one_liners:
            fastest = min(one_liners, key=lambda n: best[n])
            sys.stdout.write(f"  engine / faster one-liner ({fastest}): {best['engine'] / best[fastest]:.2f} (best)\n")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--large-files", type=int, default=20)
    parser.add_argument("--small-files", type=int, default=100_000)
    parser.add_argument("--skip-small", action="store_true")
    parser.add_argument("--contenders", default="engine,baseline,duckdb,polars")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each contender per layout")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a contender may take per layout")
    parser.add_argument("--child")
    parser.add_argument("--listing", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.listing, args.out)
        return
    contenders = args.contenders.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as temp:
        work = Path(temp)
        started = time.perf_counter()
        layouts = generate(work / "data", args.records, args.large_files, args.small_files, args.skip_small)
        total = sum(p.stat().st_size for p in layouts["large"])
        sys.stdout.write(
            f"generated {args.records:,} records, {total / MiB:.0f} MiB, in {time.perf_counter() - started:.1f} s "
            f"(cpus: {os.cpu_count()})\n"
        )
        title = f"(a) {args.large_files} large files"
        report(title, measure_all(contenders, layouts["large"], work, args.repeat, args.timeout))
        if "small" in layouts:
            title = f"(b) {len(layouts['small']):,} small files"
            small = [c for c in contenders if c != "baseline"]  # 100,000 read_json calls say nothing new
            report(title, measure_all(small, layouts["small"], work, args.repeat, args.timeout))
        runs: dict[str, list[dict[str, float]]] = {"engine": [], "engine-bad": []}
        for _ in range(args.repeat):
            runs["engine"].append(measure("engine", layouts["large"], work))
            runs["engine-bad"].append(measure("engine", layouts["bad"], work))
        results = report("(c) engine, clean (engine) vs 1% bad lines (engine-bad), large files", runs)
        if "best" in results["engine"] and "best" in results["engine-bad"]:
            sys.stdout.write(
                f"  1% bad / clean: {results['engine-bad']['best'] / results['engine']['best']:.2f} (best), "
                f"{results['engine-bad']['median'] / results['engine']['median']:.2f} (median)\n"
            )


if __name__ == "__main__":
    main()
