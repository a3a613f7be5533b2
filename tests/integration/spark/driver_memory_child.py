"""Run as a child process: convert a small manifest, then one several times spark.driver.memory, on a
Spark driver given little memory; print the Python driver's peak RSS after each (JSON on stdout)."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.engine import ConversionJob, InputFile
from ndjson2parquet.conversion.spark import SparkEngine
from ndjson2parquet.conversion.spark.session import build_session

MiB = 1024 * 1024


def write_inputs(folder: Path, files: int, mib_each: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    block = b"".join(
        b'{"id": %d, "user": {"name": "user-%d", "tags": ["a", "b"]}, "amount": %d.25, "note": "%s"}\n'
        % (i, i % 1000, i, b"x" * (i % 64))
        for i in range(20_000)
    )
    paths = []
    for f in range(files):
        path = folder / f"f{f}.ndjson"
        with path.open("wb") as out:
            for _ in range(mib_each * MiB // len(block) + 1):
                out.write(block)
        paths.append(path)
    return paths


def convert(engine: SparkEngine, paths: list[Path], root: Path, manifest_id: str) -> dict[str, int]:
    files = tuple(InputFile(p.name, str(p), p.stat().st_size) for p in paths)
    options = ConversionOptions(target_file_bytes=64 * MiB)
    job = ConversionJob(manifest_id, "ev", "2026-11-25", files, str(root / "lake"), str(root / "q"), options)
    result = engine.convert(job)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    parts = len(result.outputs)
    return {"rows": result.rows_written, "bytes_in": result.bytes_in, "parts": parts, "peak_kib": peak_kib}


def main(root: str, big_files: int, mib_each: int) -> None:
    work = Path(root)
    # the JVM driver gets 64 MiB of heap (spark.testing.memory lets Spark start below its 450 MiB floor)
    spark = build_session(
        "local[2]",
        {"spark.driver.memory": "64m", "spark.testing.memory": str(512 * MiB), "spark.ui.enabled": "false"},
    )
    spark.sparkContext.setLogLevel("ERROR")
    engine = SparkEngine(spark=spark)
    small = convert(engine, write_inputs(work / "small", 2, 4), work / "out-small", "small")
    big = convert(engine, write_inputs(work / "big", big_files, mib_each), work / "out-big", "big")
    driver_memory = spark.sparkContext.getConf().get("spark.driver.memory")
    spark.stop()
    print(json.dumps({"small": small, "big": big, "driver_memory": driver_memory}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
