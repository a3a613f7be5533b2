"""Converting one manifest with both engines and reading back everything each wrote, for comparison."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, Engine, InputFile
from ndjson2parquet.conversion.spark import SparkEngine
from ndjson2parquet.domain.records import local_version
from tests.support.spark import shared_session


def manifest(paths: list[Path]) -> tuple[InputFile, ...]:
    """The files as registered: id, path, size and version."""
    files = []
    for index, path in enumerate(paths):
        status = path.stat()
        version = local_version(status.st_size, status.st_mtime_ns)
        files.append(InputFile(f"f{index:03d}", str(path), status.st_size, version))
    return tuple(files)


def everything(engine: Engine, files: tuple[InputFile, ...], root: Path, options: ConversionOptions) -> dict[str, Any]:
    """Convert with ``engine`` under ``root``; every part (name, Arrow schema, rows), quarantine record,
    ledger (outputs by name), the schema and the totals."""
    job = ConversionJob("m-parity", "events", "2026-11-25", files, str(root / "lake"), str(root / "q"), options)
    result = engine.convert(job)
    parts = {}
    for output in result.outputs:
        table = pq.ParquetFile(output.path).read()
        parts[Path(output.path).name] = (table.schema, table.to_pylist())
    folder = root / "lake" / "events" / "date=2026-11-25"
    # split at LF only: a raw line may hold U+2028, which str.splitlines() would cut at
    quarantined = Path(result.quarantine_path).read_bytes().split(b"\n")[:-1] if result.quarantine_path else []
    return {
        "names": sorted(p.name for p in folder.iterdir()) if folder.exists() else [],
        "quarantine_names": sorted(p.name for p in (root / "q").rglob("*")),  # no fragment left behind
        "parts": parts,
        "quarantine": [json.loads(line) for line in quarantined],
        "ledgers": {k: replace(v, outputs=tuple(Path(o).name for o in v.outputs)) for k, v in result.ledgers.items()},
        "schema": result.schema_json,
        "totals": (result.rows_written, result.rows_quarantined, result.values_rescued, result.bytes_in),
    }


def both(files: tuple[InputFile, ...], root: Path, options: ConversionOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the Arrow engine and the Spark engine (local[2]) each gave for the same manifest."""
    arrow = everything(ArrowEngine(), files, root / "arrow", options)
    spark = everything(SparkEngine(spark=shared_session()), files, root / "spark", options)
    return arrow, spark


def assert_same(arrow: dict[str, Any], spark: dict[str, Any]) -> None:
    """Value by value: part names, each part's types and rows, quarantine records, ledgers, schema, totals."""
    assert spark["names"] == arrow["names"]
    assert spark["parts"].keys() == arrow["parts"].keys()
    for name, (schema, rows) in arrow["parts"].items():
        assert spark["parts"][name][0].equals(schema), name
        assert spark["parts"][name][1] == rows, name
    assert spark["quarantine"] == arrow["quarantine"]
    assert spark["quarantine_names"] == arrow["quarantine_names"]
    assert spark["ledgers"] == arrow["ledgers"]
    assert spark["schema"] == arrow["schema"]
    assert spark["totals"] == arrow["totals"]
