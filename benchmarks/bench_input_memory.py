"""Peak memory of the Arrow engine converting one big input: plain NDJSON and gzip.

Generates one file of N event records (default 4,300,000: about 1 GB of NDJSON) and a gzip copy of it,
then converts each with the engine in a child process of its own (one manifest, default options) and
prints wall time, rows and the child's peak RSS (``ru_maxrss``). A big input is read as a stream and
the parsed tables of parts already written are let go past ``KEEP_BYTES``: the peak should not grow
with the input.

Usage:
    PYTHONPATH=src .venv/bin/python benchmarks/bench_input_memory.py [--records N] [--keep DIR] [--strict]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ndjson2parquet.sample import generate

CHILD = """
import resource, sys, time
from pathlib import Path
from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, InputFile
path, out, strict = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
files = (InputFile("f0", str(path), path.stat().st_size),)
job = ConversionJob("m1", "ev", "2026-11-25", files, out + "/lake", out + "/q", ConversionOptions(strict=strict))
started = time.perf_counter()
result = ArrowEngine().convert(job)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(result.rows_written, len(result.outputs), round(time.perf_counter() - started, 1), peak)
"""


def convert(path: Path, out: Path, strict: bool) -> str:
    """Convert ``path`` in a child process; its rows, parts, seconds and peak RSS (MiB), as printed."""
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-c", CHILD, str(path), str(out), "1" if strict else "0"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, env=os.environ.copy())
    rows, parts, seconds, peak = done.stdout.split()
    size = path.stat().st_size / 1e6
    return f"{path.name}: {size:,.0f} MB, {rows} rows, {parts} parts, {seconds} s, peak RSS {peak} MiB"


def main() -> None:
    """Generate (or reuse) the inputs and print one line per conversion."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=4_300_000)
    parser.add_argument("--keep", type=Path, help="keep the inputs here (reused when present)")
    parser.add_argument("--strict", action="store_true", help="strict mode (no early write: every chunk is kept)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-input-memory-"))
    try:
        plain = root / f"events-{args.records}.ndjson"
        if not plain.exists():
            started = time.perf_counter()
            summary = generate(root / "gen", files=1, records=args.records, days=1)
            next((root / "gen").rglob("*.ndjson")).rename(plain)
            print(f"generated {summary.bytes / 1e6:,.0f} MB in {time.perf_counter() - started:.0f} s", flush=True)
        packed = plain.with_suffix(".ndjson.gz")
        if not packed.exists():
            with plain.open("rb") as source, gzip.open(packed, "wb", compresslevel=1) as target:
                shutil.copyfileobj(source, target, 1 << 24)
        for path in (plain, packed):
            print(convert(path, root / "out", args.strict), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
