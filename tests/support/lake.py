"""Read a generated landing zone and a converted lake back, to compare them record by record."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq


def input_event_ids(landing: Path) -> Counter[str]:
    """event_id of every record in a generated landing zone."""
    ids: Counter[str] = Counter()
    for path in landing.rglob("*.ndjson*"):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        ids.update(json.loads(line)["event_id"] for line in data.splitlines() if line.strip())
    return ids


def lake_parts(lake: Path) -> list[Path]:
    """Every published part, skipping our own `_` folders."""
    return sorted(p for p in lake.rglob("part-*.parquet") if not any(x.startswith("_") for x in p.parts))


def output_event_ids(lake: Path) -> Counter[str]:
    """event_id of every row in every published part."""
    ids: Counter[str] = Counter()
    for part in lake_parts(lake):
        ids.update(pq.read_table(part, columns=["event_id"]).column("event_id").to_pylist())
    return ids


def stray_files(lake: Path, committed: set[str]) -> list[Path]:
    """Parts no SUCCEEDED manifest lists, and temp files left behind."""
    strays = [p for p in lake_parts(lake) if str(p) not in committed]
    strays += [p for p in lake.rglob(".*") if p.is_file() and "_state" not in p.parts]
    return strays


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a child process."""
    result = subprocess.run([sys.executable, "-m", "ndjson2parquet", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"ndjson2parquet {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


# --- reading a lake back with each reader's README recipe ("Reading the lake") ----------------------


def read_duckdb(view_sql: str, dataset: str) -> list[dict[str, Any]]:
    """Rows through DuckDB: the view ``schema --format duckdb`` prints, then ``SELECT *``."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(view_sql)
        relation = con.sql(f'SELECT * FROM "{dataset}"')
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    finally:
        con.close()


def read_polars(dataset_dir: Path, schema_source: str) -> list[dict[str, Any]]:
    """Rows through Polars with the schema dict ``schema --format polars`` prints."""
    import polars as pl

    schema = eval(schema_source, {"pl": pl})  # what a user pastes into their code
    frame = pl.scan_parquet(
        f"{dataset_dir}/**/*.parquet",  # a glob: Polars refuses a folder holding other files
        hive_partitioning=True,
        schema=schema,
        missing_columns="insert",
        cast_options=pl.ScanCastOptions(missing_struct_fields="insert", integer_cast="allow-float"),
    ).collect()
    return frame.to_dicts()


def read_pyarrow(dataset_dir: Path, schema_source: str) -> list[dict[str, Any]]:
    """Rows through a PyArrow dataset with the schema ``schema --format arrow`` prints."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    schema = eval(schema_source, {"pa": pa})
    return ds.dataset(dataset_dir, schema=schema, partitioning="hive").to_table().to_pylist()


OUR_COLUMNS = ("_rescued_data", "_duplicate_keys", "_source_file", "_source_line")


def without_nulls(value: Any) -> Any:
    """A JSON value with its null object members dropped (null and a missing key are the same)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def normalise(value: Any) -> Any:
    """Null, and an object of nothing but nulls, equal a missing key (documented in rescue.py)."""
    if isinstance(value, dict):
        kept = {k: normalise(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None and v != {}}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def restored(row: dict[str, Any], partition: str = "date") -> tuple[dict[str, Any], Any, Any]:
    """(the record, its earlier duplicates, its partition value) from a row read back: the row's data
    columns deep-merged with its ``_rescued_data`` (the README's rule)."""
    from ndjson2parquet.conversion.rescue import deep_merge

    data = {k: v for k, v in row.items() if k not in OUR_COLUMNS and k != partition}
    rescued = json.loads(row["_rescued_data"]) if row.get("_rescued_data") else {}
    duplicates = json.loads(row["_duplicate_keys"]) if row.get("_duplicate_keys") else None
    return without_nulls(deep_merge(without_nulls(data), rescued)), duplicates, row.get(partition)
