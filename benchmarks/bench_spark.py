"""The Spark engine (local[2]) against the Arrow engine, and the manifest size above which Glue should convert.

What it measures, each contender in its own child process, ``--repeat`` times round-robin (default 3):

1. **Shapes** (``--shapes large,small``): the 1,000,000-record data sets of ``bench_pipeline.py`` (the
   project's sample generator: 20 large files, 100,000 small files, one date), cut into the manifests
   the batch policy would close (``BatchPolicy``: at most 10,000 files and 256 MiB each: 1 manifest for
   the large shape, 10 for the small), converted through the engine port (``Engine.convert``) by
   ``ArrowEngine()`` and by ``SparkEngine(master="local[2]")``, one manifest after the other, the
   dataset's schema carried from one to the next. The port measures the engine alone: ``run`` would add
   the same registration, hashing and state writes to both. Printed per engine: median and best
   conversion seconds (the manifests only), the child process's wall time (interpreter, imports, the
   JVM, the conversion, stopping), the Spark session's start (building the session and one trivial
   job that starts a Python worker: the fixed cost of Spark, apart), peak RSS of the process tree (the
   JVM and Spark's Python workers included), rows (counted from the written parts' metadata),
   throughput in MB/s of NDJSON, and Spark/Arrow as ratios of medians.
2. **Sizes** (``--sizes 100,400,1000``, MB): one manifest of about that many MB of generated NDJSON
   (the first files of one data set of ~25 MB files), converted by the Arrow engine in default and in
   strict mode (``--modes``): seconds, MB/s, peak RSS and how much smaller the Parquet is; peak RSS as a
   line over the input MB, fitted over all sizes and through the two largest (what one more input MB
   costs at the top of the range: the engine lets parsed tables go past a budget, so growth may stop).
3. **The Glue threshold**: from those figures, the largest manifest the convert Lambda (3008 MB, 900 s,
   ``cost.deployment.DEPLOYMENT``; ``--lambda-tmp-mib``, default 512, its /tmp) converts within a
   safety margin of time, memory and /tmp (on S3 the parts written early wait in local temp files
   until the manifest's schema is known), and the cost of one manifest in Lambda (GB-s) against Glue
   (DPU-hours; 2 G.1X workers, the 1-minute minimum) at ``cost/prices/us-east-1.json``. Every
   assumption is printed beside the figure it moves.

Peak RSS and the child's wall time are ``bench_pipeline.measure``'s (the process tree's summed RSS
sampled every 20 ms with psutil, and ``ru_maxrss`` from ``wait4``). The machine is shared and its
speed varies hour to hour: only ratios measured side by side mean much; absolute seconds are this
moment's. Nothing here asserts.

Usage (from the repository root; data under a temporary folder, removed after unless ``--keep``):
    PYTHONPATH=src .venv/bin/python benchmarks/bench_spark.py [--repeat 3] [--records 1000000]
        [--shapes large,small] [--sizes 100,400,1000] [--modes default,strict] [--small-files 100000]
        [--lambda-tmp-mib 512] [--keep DIR] [--timeout SECONDS]
    --shapes '' or --sizes '' skips that part.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from bench_pipeline import SHAPES, markdown_table, measure, prepare  # data sets, process-tree measure, tables

import ndjson2parquet
from ndjson2parquet.config.settings import BatchPolicy
from ndjson2parquet.cost import figures as fig
from ndjson2parquet.cost.deployment import DEPLOYMENT
from ndjson2parquet.cost.prices import load_prices
from ndjson2parquet.sample import generate

MB = 1_000_000
MiB = 1 << 20
DATE = "2026-11-25"  # the sample generator's first day (days=1)
ENGINES = ("arrow", "spark")
SIZE_FILE_BYTES = 25 * MB  # files of the sizes' data set
RECORD_BYTES = 240  # about what one generated record takes (1,000,000 records: 240 MB)

# The safety margins of the threshold: a manifest is sent to Lambda only when the model says it takes at
# most this share of the Lambda's timeout and of its memory. Time gets a factor 2: this machine's speed
# varies 1.5x from hour to hour, and an arm64 vCPU of Lambda is not one of its cores (not measured on AWS).
TIME_MARGIN = 0.5
MEMORY_MARGIN = 0.75
GLUE_EXECUTOR_VCPUS = 4  # 2 G.1X workers: one is the driver, the other one executor of 4 vCPU (4 tasks at once)


# --- the child: one engine over a plan of manifests ----------------------------------------------------


def child(engine_name: str, plan_path: Path, out: Path, result_path: Path, strict: bool) -> None:
    """Convert the plan's manifests with one engine; write its figures as JSON to ``result_path``."""
    import pyarrow.parquet as pq

    from ndjson2parquet.config.settings import ConversionOptions
    from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
    from ndjson2parquet.conversion.engine import ConversionJob, InputFile

    manifests = json.loads(plan_path.read_text())
    session_s = 0.0
    if engine_name == "spark":
        from ndjson2parquet.conversion.spark.spark_engine import SparkEngine

        started = time.perf_counter()
        engine = SparkEngine(master="local[2]")
        context = engine.spark.sparkContext
        context.setLogLevel("ERROR")
        context.parallelize([0], 1).map(lambda x: x).collect()  # the first job starts a Python worker
        session_s = time.perf_counter() - started
    else:
        engine = ArrowEngine()
    options = ConversionOptions(strict=strict)
    schema = None
    outputs = []
    started = time.perf_counter()
    for number, files in enumerate(manifests):
        job = ConversionJob(
            manifest_id=f"bench-{number}",
            dataset="events",
            date=DATE,
            files=tuple(InputFile(f"{number}-{i}", path, size) for i, (path, size) in enumerate(files)),
            output_root=str(out / "lake"),
            quarantine_root=str(out / "quarantine"),
            options=options,
            schema_json=schema,
        )
        result = engine.convert(job)
        schema = result.schema_json
        outputs += result.outputs
    convert_s = time.perf_counter() - started
    rows = sum(pq.ParquetFile(o.path).metadata.num_rows for o in outputs)
    figures = {
        "convert_s": convert_s,
        "session_s": session_s,
        "rows": rows,
        "parquet_bytes": sum(o.bytes for o in outputs),
    }
    result_path.write_text(json.dumps(figures))
    if engine_name == "spark":
        engine.spark.stop()


# --- the parent --------------------------------------------------------------------------------------


@dataclass
class Runs:
    """Every run of one contender on one plan."""

    label: str
    engine: str
    input_bytes: int
    convert: list[float] = field(default_factory=list)
    process: list[float] = field(default_factory=list)
    session: list[float] = field(default_factory=list)
    peak: int = 0
    parquet_bytes: int = 0
    rows: int | None = None
    error: str | None = None

    @property
    def median(self) -> float:
        """Median conversion seconds."""
        return statistics.median(self.convert)

    @property
    def mb_s(self) -> float:
        """MB of NDJSON per second of conversion (median)."""
        return self.input_bytes / MB / self.median


def policy_manifests(files: list[Path], policy: BatchPolicy) -> list[list[tuple[str, int]]]:
    """The files as the batch policy closes manifests: at most ``max_files`` and ``target_bytes`` each."""
    manifests: list[list[tuple[str, int]]] = [[]]
    size = 0
    for path in files:
        length = path.stat().st_size
        if manifests[-1] and (len(manifests[-1]) >= policy.max_files or size + length > policy.target_bytes):
            manifests.append([])
            size = 0
        manifests[-1].append((str(path), length))
        size += length
    return manifests


def run_once(runs: Runs, plan: Path, work: Path, timeout: float, strict: bool = False) -> None:
    """One child process converting ``plan`` with ``runs.engine``; its figures added to ``runs``."""
    out = work / f"out-{runs.engine}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    result = work / "result.json"
    result.unlink(missing_ok=True)
    argv = [sys.executable, __file__, "--child", runs.engine, "--plan", str(plan), "--out", str(out)]
    argv += ["--result", str(result)] + (["--strict"] if strict else [])
    print(f"  {runs.label} {runs.engine} ...", end=" ", flush=True)
    seconds, peak, code, tail = measure(argv, work, timeout)
    shutil.rmtree(out, ignore_errors=True)
    if code != 0 or not result.exists():
        runs.error = f"exit {code}: {tail or '(no stderr)'}"
        print("FAILED\n    " + runs.error.replace("\n", "\n    "), flush=True)
        return
    figures = json.loads(result.read_text())
    runs.convert.append(figures["convert_s"])
    runs.session.append(figures["session_s"])
    runs.process.append(seconds)
    runs.peak = max(runs.peak, peak)
    runs.rows = figures["rows"]
    runs.parquet_bytes = figures["parquet_bytes"]
    print(
        f"convert {figures['convert_s']:.2f} s (process {seconds:.2f} s, session {figures['session_s']:.2f} s), "
        f"{peak / MiB:.0f} MiB, {figures['rows']:,} rows",
        flush=True,
    )


def round_robin(contenders: list[tuple[Runs, Path, bool]], work: Path, repeat: int, timeout: float) -> None:
    """Every contender ``repeat`` times, one after the other, so a busy moment hits them all."""
    for _ in range(repeat):
        for runs, plan, strict in contenders:
            if runs.error is None:
                run_once(runs, plan, work, timeout, strict)


def bench_shapes(root: Path, shapes: list[str], records: int, repeat: int, timeout: float) -> dict[str, dict]:
    """Arrow and Spark on each shape's policy manifests; the runs by shape, then engine."""
    found: dict[str, dict[str, Runs]] = {}
    for shape in shapes:
        data, _ = prepare(root, shape, records)
        files = sorted(data.rglob("*.ndjson"))
        manifests = policy_manifests(files, BatchPolicy())
        size = sum(length for m in manifests for _, length in m)
        print(f"\n== {shape}: {len(files):,} files, {size / MB:.0f} MB, {len(manifests)} manifest(s)", flush=True)
        plan = root / f"plan-{shape}.json"
        plan.write_text(json.dumps(manifests))
        found[shape] = {e: Runs(shape, e, size) for e in ENGINES}
        round_robin([(found[shape][e], plan, False) for e in ENGINES], root, repeat, timeout)
    return found


def bench_sizes(root: Path, sizes: list[int], modes: list[str], repeat: int, timeout: float) -> list[Runs]:
    """The Arrow engine on one manifest of each size (MB), in each mode."""
    data = root / "data-sizes"
    records = math.ceil(max(sizes) * MB / RECORD_BYTES)
    marker = data / ".generated.json"
    if not (marker.exists() and json.loads(marker.read_text())["records"] >= records):  # a bigger one serves
        shutil.rmtree(data, ignore_errors=True)
        started = time.perf_counter()
        generate(data, files=max(1, max(sizes) * MB // SIZE_FILE_BYTES), records=records, days=1, seed=1)
        marker.write_text(json.dumps({"records": records}))
        print(f"\n(generated the sizes' data set in {time.perf_counter() - started:.0f} s)", flush=True)
    files = sorted(data.rglob("*.ndjson"))
    contenders: list[tuple[Runs, Path, bool]] = []
    for size in sizes:
        manifest: list[tuple[str, int]] = []
        for path in files:  # the first files reaching the size
            if sum(length for _, length in manifest) >= size * MB:
                break
            manifest.append((str(path), path.stat().st_size))
        total = sum(length for _, length in manifest)
        plan = root / f"plan-size-{size}.json"
        plan.write_text(json.dumps([manifest]))
        for mode in modes:
            runs = Runs(f"{total / MB:.0f} MB {mode}", "arrow", total)
            contenders.append((runs, plan, mode == "strict"))
    print(f"\n== sizes: one manifest of {', '.join(f'{s} MB' for s in sizes)}; Arrow, {', '.join(modes)}")
    round_robin(contenders, root, repeat, timeout)
    return [runs for runs, _, _ in contenders]


# --- reporting ---------------------------------------------------------------------------------------


def report_shapes(found: dict[str, dict[str, Runs]]) -> None:
    """The figures of both engines on each shape, and Spark/Arrow."""
    print("\nSpark local[2] against Arrow (medians of the runs; Spark/Arrow: ratio of medians)\n")
    rows = []
    for shape, by_engine in found.items():
        arrow, spark = by_engine["arrow"], by_engine["spark"]
        for runs in (arrow, spark):
            if runs.error or not runs.convert:
                rows.append([shape, runs.engine, "failed", "-", "-", "-", "-", "-", "-"])
                continue
            ratio = "-"
            if runs is spark and arrow.convert and not arrow.error:
                process = statistics.median(spark.process) / statistics.median(arrow.process)
                ratio = f"{spark.median / arrow.median:.2f}x / {process:.2f}x / {spark.peak / arrow.peak:.2f}x"
            rows.append([
                shape,
                runs.engine,
                f"{runs.median:.2f} / {min(runs.convert):.2f}",
                f"{statistics.median(runs.process):.2f}",
                f"{statistics.median(runs.session):.2f}" if runs.engine == "spark" else "-",
                f"{runs.peak / MiB:.0f}",
                f"{runs.rows:,}",
                f"{runs.mb_s:.1f}",
                ratio,
            ])  # fmt: skip
    header = ["shape", "engine", "convert s median / best", "process s", "session start s", "peak RSS MiB",
              "rows", "MB/s", "Spark/Arrow: convert / process / RSS"]  # fmt: skip
    markdown_table(header, rows)


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares line through (x, y): intercept and slope."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return my - slope * mx, slope


def report_sizes(sizes: list[Runs]) -> dict[str, tuple[float, float]]:
    """The sizes' figures, and peak RSS (MiB) as a line over input MB by mode."""
    print("\nArrow engine, one manifest of each size (medians)\n")
    rows = []
    for runs in sizes:
        if runs.error or not runs.convert:
            rows.append([runs.label, "failed", "-", "-", "-"])
            continue
        ratio = f"{runs.input_bytes / runs.parquet_bytes:.2f}"
        rows.append([runs.label, f"{runs.median:.2f}", f"{runs.mb_s:.1f}", f"{runs.peak / MiB:.0f}", ratio])
    markdown_table(
        ["manifest", "mode", "convert s", "MB/s", "peak RSS MiB", "NDJSON/Parquet bytes"],
        [[r[0].rsplit(" ", 1)[0], r[0].rsplit(" ", 1)[1], *r[1:]] for r in rows],
    )
    lines: dict[str, tuple[float, float]] = {}
    for mode in sorted({r.label.rsplit(" ", 1)[1] for r in sizes}):
        points = [(r.input_bytes / MB, r.peak / MiB) for r in sizes if r.label.endswith(mode) and r.convert]
        if len(points) >= 2:
            a, b = fit(points)
            # what one more MB costs at the top of the range: the engine lets parsed tables go past a budget,
            # so the growth may stop; the line through the two largest manifests is what extrapolates
            (x1, y1), (x2, y2) = sorted(points)[-2:]
            top = (y2 - y1) / (x2 - x1) if x2 > x1 else 0.0
            lines[mode] = (y2 - top * x2, top)
            print(f"  peak RSS, {mode}: fitted {a:.0f} MiB + {b:.3f} MiB per input MB over all sizes; "
                  f"{top:.3f} MiB per MB between the two largest")  # fmt: skip
    return lines


def lambda_seconds(size_mb: float, files: int, mb_s: float, s_per_file: float, scale: float) -> float:
    """The convert Lambda's seconds for a manifest (the cost model's shape: reading overlaps converting)."""
    cpu = (files * s_per_file + size_mb / mb_s) * scale
    read = files * fig.S3_GET_LATENCY_S.value + size_mb / fig.S3_STREAM_MB_PER_S.value
    return fig.CONVERT_BASE_S.value + max(cpu, read)


def report_threshold(
    found: dict[str, dict[str, Runs]], sizes: list[Runs], lines: dict[str, tuple[float, float]], tmp_mib: int
) -> None:
    """The largest manifest the convert Lambda takes within the margins, and Lambda against Glue in dollars."""
    d = DEPLOYMENT
    cores = os.cpu_count() or 2
    vcpus = d.convert.memory_mb / fig.LAMBDA_MB_PER_VCPU.value
    scale = cores / vcpus
    arrow_rates = [r.mb_s for r in sizes if r.label.endswith("default") and r.convert]
    if "large" in found and found["large"]["arrow"].convert:
        arrow_rates.append(found["large"]["arrow"].mb_s)
    if not arrow_rates:
        print("\n(no Arrow throughput measured: no threshold)")
        return
    mb_s = min(arrow_rates)  # the slowest measured: the margin is not spent on our luck
    s_per_file = fig.CONVERT_S_PER_FILE_2_CORES.value
    if {"large", "small"} <= found.keys() and found["small"]["arrow"].convert and found["large"]["arrow"].convert:
        large, small = found["large"]["arrow"], found["small"]["arrow"]
        s_per_file = max(0.0, (small.median - large.median) / (SHAPES["small"] - SHAPES["large"]))
    files = BatchPolicy().max_files  # the worst case for a size: the most files a manifest may hold
    budget_s = TIME_MARGIN * d.convert_timeout_s
    budget_mib = MEMORY_MARGIN * d.convert.memory_mb
    print(f"\nThe Glue threshold (convert Lambda {d.convert.memory_mb} MB, {d.convert_timeout_s} s)")
    print(f"  assumed: {vcpus:.2f} vCPU at {d.convert.memory_mb} MB ({fig.LAMBDA_MB_PER_VCPU.value:.0f} MB a vCPU), "
          f"so {scale:.2f}x the seconds measured here on {cores} cores")  # fmt: skip
    print(f"  measured: Arrow {mb_s:.1f} MB/s (the slowest median of its default-mode runs), "
          f"{s_per_file * 1000:.3f} ms a file beyond its bytes (small shape against large)")  # fmt: skip
    print(f"  assumed (cost model): S3 {fig.S3_STREAM_MB_PER_S.value:.0f} MB/s a stream, "
          f"{fig.S3_GET_LATENCY_S.value * 1000:.0f} ms a GET, {fig.CONVERT_BASE_S.value} s a start; "
          f"worst case {files:,} files a manifest")  # fmt: skip
    cpu_bound = (budget_s - fig.CONVERT_BASE_S.value) / scale - files * s_per_file
    read_bound = budget_s - fig.CONVERT_BASE_S.value - files * fig.S3_GET_LATENCY_S.value
    time_mb = min(cpu_bound * mb_s, read_bound * fig.S3_STREAM_MB_PER_S.value)
    print(f"  time: at most {TIME_MARGIN:.0%} of the timeout ({budget_s:.0f} s) -> {time_mb:,.0f} MB")
    bounds = {"time": time_mb}
    for mode, (a, b) in lines.items():
        mem_mb = (budget_mib - a) / b if b > 0.01 else math.inf  # under 10 MiB a GB: flat
        shown = "no bound (flat)" if math.isinf(mem_mb) else f"{mem_mb:,.0f} MB"
        print(f"  memory, {mode}: peak RSS at most {MEMORY_MARGIN:.0%} of {d.convert.memory_mb} MB "
              f"({budget_mib:.0f} MiB) -> {shown}")  # fmt: skip
        bounds[f"memory {mode}"] = mem_mb
    # On S3 the parts written early (default mode) wait in local temp files until the manifest's schema is
    # known, so /tmp holds the manifest's whole Parquet at once; strict mode stages one part at a time.
    ratios = [r.input_bytes / r.parquet_bytes for r in sizes if r.label.endswith("default") and r.parquet_bytes]
    if ratios:
        tmp_mb = MEMORY_MARGIN * tmp_mib * MiB / MB * min(ratios)
        print(f"  /tmp, default: the manifest's Parquet ({min(ratios):.2f}x smaller than its NDJSON, the least "
              f"measured) in at most {MEMORY_MARGIN:.0%} of {tmp_mib} MiB of /tmp -> {tmp_mb:,.0f} MB")  # fmt: skip
        bounds["/tmp default"] = tmp_mb
    limit, why = min((v, k) for k, v in bounds.items())
    print(f"  -> the largest manifest for the Lambda: {limit:,.0f} MB ({why}); today: "
          f"{d.lambda_convert_max_bytes:,} bytes ({d.lambda_convert_max_bytes / MB:,.0f} MB)")  # fmt: skip
    for mb in (d.lambda_convert_max_bytes / MB, limit):
        if math.isfinite(mb):
            print(f"     at {mb:,.0f} MB: {lambda_seconds(mb, files, mb_s, s_per_file, scale):,.0f} s in Lambda "
                  f"({files:,} files)")  # fmt: skip
    report_cost(found, mb_s, s_per_file, scale, files, limit)


def report_cost(found: dict, mb_s: float, s_per_file: float, scale: float, files: int, limit: float) -> None:
    """One manifest's dollars in Lambda (GB-s) and in Glue (DPU-hours) at a few sizes; the crossover, if any."""
    d, p = DEPLOYMENT, load_prices("us-east-1")
    spark = found.get("large", {}).get("spark")
    if spark is not None and spark.convert:
        spark_mb_s = spark.mb_s
        glue_mb_s = spark_mb_s * GLUE_EXECUTOR_VCPUS / (os.cpu_count() or 2)
        how = f"Spark local[2]'s {spark_mb_s:.1f} MB/s x {GLUE_EXECUTOR_VCPUS} executor vCPUs / {os.cpu_count()} cores"
    else:  # Spark not measured in this invocation: the cost model's assumption
        glue_mb_s, how = fig.GLUE_MB_PER_S.value, "the cost model's assumption"
    overhead = fig.GLUE_OVERHEAD_S.value
    print(f"\nLambda against Glue, one manifest (us-east-1, as of {p.as_of})")
    print(f"  Glue: {d.glue_workers} {d.glue_worker_type} workers at {p['glue_dpu_hour']} $/DPU-hour, 60 s minimum, "
          f"{overhead:.0f} s overhead (assumed), {glue_mb_s:.1f} MB/s = {how} (assumed)")  # fmt: skip
    print(f"  Lambda: {d.convert.memory_mb} MB at {p['lambda_gb_second_arm64']} $/GB-s (arm64) + a request")

    def lam(mb: float) -> float:
        gb_s = lambda_seconds(mb, files, mb_s, s_per_file, scale) * d.convert.memory_mb / 1024
        return gb_s * p["lambda_gb_second_arm64"] + p["lambda_request"]

    def glue(mb: float) -> float:
        seconds = max(60.0, overhead + mb / glue_mb_s)
        return d.glue_workers * seconds / 3600 * p["glue_dpu_hour"]

    rows = []
    for mb in (256, 1024, 2147, 4096, 8192, 16384):
        lam_s = lambda_seconds(mb, files, mb_s, s_per_file, scale)
        glue_s = max(60.0, overhead + mb / glue_mb_s)
        fits = "yes" if mb <= limit else "no"
        rows.append([f"{mb:,}", fits, f"{lam_s:,.0f}", f"{lam(mb):.4f}", f"{glue_s:,.0f}", f"{glue(mb):.4f}",
                     f"{glue(mb) / lam(mb):.1f}x"])  # fmt: skip
    markdown_table(
        ["manifest MB", "within the Lambda's margin", "Lambda s", "Lambda $", "Glue s", "Glue $", "Glue/Lambda"], rows
    )
    cross = next((mb for mb in range(1, 10_000_001, 64) if glue(mb) <= lam(mb)), None)
    if cross is None:
        print("  no crossover up to 10 TB: Glue costs more than Lambda at every size (worst case of files for Lambda)")
    else:
        where = "within" if cross <= limit else "beyond"
        print(f"  Glue is cheaper from about {cross:,} MB ({where} what the Lambda can take)")


def main() -> None:
    """Generate (or reuse) the data sets, run the contenders, print the figures and the threshold."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each contender (default 3)")
    parser.add_argument("--records", type=int, default=1_000_000, help="records of the shapes (default 1,000,000)")
    parser.add_argument("--shapes", default="large,small", help="comma-separated: large (20 files), small")
    parser.add_argument("--small-files", type=int, default=SHAPES["small"], help="files of the small shape")
    parser.add_argument("--sizes", default="100,400,1000", help="MB of the one-manifest sizes (Arrow)")
    parser.add_argument("--modes", default="default,strict", help="modes of the sizes: default, strict")
    parser.add_argument("--keep", type=Path, help="keep the data here (data found here is reused)")
    parser.add_argument("--lambda-tmp-mib", type=int, default=512, help="the convert Lambda's /tmp (default 512)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before a run is killed")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--plan", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--strict", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.plan, args.out, args.result, args.strict)
        return
    SHAPES["small"] = args.small_files
    shapes = [s for s in args.shapes.split(",") if s]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    if set(shapes) - set(SHAPES) or set(modes) - {"default", "strict"}:
        parser.error("--shapes takes large, small; --modes takes default, strict")
    # children import this checkout's package by absolute path (the venv may hold another checkout's)
    src = str(Path(ndjson2parquet.__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join([src, str(Path(__file__).resolve().parent)])
    import pyspark

    print(f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB RAM, pyspark {pyspark.__version__}, "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-spark-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        found = bench_shapes(root, shapes, args.records, args.repeat, args.timeout) if shapes else {}
        measured = bench_sizes(root, sizes, modes, args.repeat, args.timeout) if sizes else []
        print(f"\n(all runs: {time.perf_counter() - started:.0f} s; load average now "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())})")  # fmt: skip
        if found:
            report_shapes(found)
        lines = report_sizes(measured) if measured else {}
        report_threshold(found, measured, lines, args.lambda_tmp_mib)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
