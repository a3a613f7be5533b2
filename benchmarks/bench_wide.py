"""Does one wide record slow every later manifest of its dataset? The same rows, in a wide and a fresh dataset.

Prints figures, never asserts. A first manifest (``--wide-keys`` keys in one record, among 100
ordinary records) gives the "wide" dataset its stored schema; then 1,000,000 ordinary records (the
generator of ``bench_engine``, 20 files) are converted in the wide dataset and in a fresh one. Each
conversion runs in its own child process (peak RSS is the child's own ``VmHWM``), ``--repeat``
times round-robin; the best and median of each and the ratios wide / fresh are printed. The goal:
time and peak RSS within 1.2x.

    .venv/bin/python benchmarks/bench_wide.py                        # 1,000,000 records, 10,000 keys
    .venv/bin/python benchmarks/bench_wide.py --records 100000 --repeat 1
    .venv/bin/python benchmarks/bench_wide.py --max-columns 20000 --max-leaf-columns 20000  # keep all keys

With the default limits the wide record adds 1,000 top-level columns at most (the rest of it is kept
in ``_rescued_data``); raising the limits stores every one of its keys, the hardest case for later
manifests.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from bench_engine import make_record, peak_rss_mib

MiB = 1024 * 1024


def generate(folder: Path, records: int, files: int, wide_keys: int) -> tuple[list[Path], Path]:
    """The ordinary files, and the first manifest's file (the wide record among ordinary ones)."""
    rng = random.Random(42)
    folder.mkdir(parents=True)
    per_file = -(-records // files)
    paths = []
    for n in range(files):
        path = folder / f"events-{n:03d}.ndjson"
        count = max(0, min(per_file, records - n * per_file))
        path.write_bytes(b"".join(orjson.dumps(make_record(rng, n * per_file + i)) + b"\n" for i in range(count)))
        paths.append(path)
    first = folder / "first.ndjson"
    ordinary = [orjson.dumps(make_record(rng, i)) for i in range(100)]
    wide = orjson.dumps({f"field_{i:05d}": (i if i % 3 else f"v{i}") for i in range(wide_keys)})
    first.write_bytes(b"\n".join([*ordinary[:50], wide, *ordinary[50:]]) + b"\n")
    return paths, first


def job(files: list[Path], out: Path, manifest: str, schema: str | None, limits: tuple[int, int]):
    from ndjson2parquet.config.settings import ConversionOptions
    from ndjson2parquet.conversion.engine import ConversionJob, InputFile

    inputs = tuple(InputFile(file_id=str(i), uri=str(p), size=p.stat().st_size) for i, p in enumerate(files))
    options = ConversionOptions(max_columns=limits[0], max_leaf_columns=limits[1])
    return ConversionJob(manifest, "events", "2026-11-25", inputs, str(out / "lake"), str(out / "q"), options, schema)


def child(listing: Path, out: Path, schema_file: Path | None, limits: tuple[int, int]) -> None:
    from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine

    files = [Path(line) for line in listing.read_text().splitlines()]
    schema = schema_file.read_text() if schema_file else None
    started = time.perf_counter()
    result = ArrowEngine().convert(job(files, out, "bench", schema, limits))
    seconds = time.perf_counter() - started
    figures = {"seconds": seconds, "rows": result.rows_written, "peak_mib": peak_rss_mib()}
    sys.stdout.write(json.dumps(figures) + "\n")


def measure(name: str, work: Path, schema_file: Path | None, limits: tuple[int, int], timeout: float) -> dict:
    out = work / f"out-{name}"
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, __file__, "--child", "--listing", str(work / "listing.txt"), "--out", str(out)]
    command += ["--max-columns", str(limits[0]), "--max-leaf-columns", str(limits[1])]
    if schema_file is not None:
        command += ["--schema", str(schema_file)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s"}
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--wide-keys", type=int, default=10_000)
    parser.add_argument("--max-columns", type=int, default=None, help="default: ConversionOptions' default")
    parser.add_argument("--max-leaf-columns", type=int, default=None, help="default: ConversionOptions' default")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--listing", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--schema", type=Path)
    args = parser.parse_args()
    from ndjson2parquet.config.settings import ConversionOptions

    limits = (
        args.max_columns or ConversionOptions.max_columns,
        args.max_leaf_columns or ConversionOptions.max_leaf_columns,
    )
    if args.child:
        child(args.listing, args.out, args.schema, limits)
        return
    from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine

    with tempfile.TemporaryDirectory(prefix="bench-wide-") as temp:
        work = Path(temp)
        files, first = generate(work / "data", args.records, args.files, args.wide_keys)
        (work / "listing.txt").write_text("\n".join(str(p) for p in files))
        seeded = ArrowEngine().convert(job([first], work / "seed", "seed", None, limits))
        schema_file = work / "schema.json"
        schema_file.write_text(seeded.schema_json or "")
        stored = len(json.loads(seeded.schema_json or "{}").get("fields", []))
        size = sum(p.stat().st_size for p in files) / MiB
        sys.stdout.write(
            f"{args.records:,} records ({size:.0f} MiB, {args.files} files); the wide dataset has seen a "
            f"{args.wide_keys:,}-key record and stores {stored:,} columns (limits {limits[0]:,} / {limits[1]:,})\n"
        )
        runs: dict[str, list[dict]] = {"fresh": [], "wide": []}
        for _ in range(args.repeat):
            runs["fresh"].append(measure("fresh", work, None, limits, args.timeout))
            runs["wide"].append(measure("wide", work, schema_file, limits, args.timeout))
        results = {}
        for name, figures in runs.items():
            good = [f for f in figures if "seconds" in f]
            if not good:
                sys.stdout.write(f"  {name:6s} FAILED: {figures[0].get('error')}\n")
                continue
            seconds = [f["seconds"] for f in good]
            results[name] = {
                "best": min(seconds),
                "median": statistics.median(seconds),
                "peak": max(f["peak_mib"] for f in good),
            }
            sys.stdout.write(
                f"  {name:6s} best {results[name]['best']:6.2f} s  median {results[name]['median']:6.2f} s  "
                f"{good[0]['rows']:>9,} rows  peak {results[name]['peak']:6.0f} MiB  "
                f"(runs: {', '.join(f'{s:.2f}' for s in seconds)})\n"
            )
        if len(results) == 2:
            wide, fresh = results["wide"], results["fresh"]
            sys.stdout.write(
                f"  wide / fresh: time {wide['best'] / fresh['best']:.2f} (best), "
                f"{wide['median'] / fresh['median']:.2f} (median); peak RSS {wide['peak'] / fresh['peak']:.2f}\n"
            )


if __name__ == "__main__":
    main()
