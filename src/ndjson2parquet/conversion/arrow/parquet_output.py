"""Where parts go, how they are published (atomically), and how an earlier attempt's parts are removed.

``<output_root>/<dataset>/date=<date>/part-<manifest_id>-<n>.parquet``, n = 0, 1, 2... in input order:
the same manifest always gives the same names, so a retry overwrites its own parts. A part is written
as ``.part-<manifest_id>-<n>.parquet.tmp`` beside its final name (a leading dot: Spark, Hive, Athena,
DuckDB and Polars skip it) and renamed with ``os.replace``; it is never seen half-written.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ...lake.atomic import temp_name

COMPRESSION = {"snappy": "snappy", "zstd": "zstd", "gzip": "gzip", "lz4": "lz4", "none": "none"}


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The Parquet paths of the string leaves: the only columns worth dictionary encoding.

    As DuckDB and Polars do by default. Dictionary encoding high-cardinality numbers (ids, amounts,
    coordinates) costs a third of the write and gives larger files: the writer fills a dictionary
    page before it falls back to plain encoding.
    """
    paths: list[str] = []

    def walk(arrow_type: pa.DataType, path: str) -> None:
        if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
            paths.append(path)
        elif pa.types.is_struct(arrow_type):
            for child in arrow_type:
                walk(child.type, f"{path}.{child.name}")
        elif pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
            walk(arrow_type.value_type, f"{path}.list.element")  # the compliant nested names

    for field in schema:
        walk(field.type, field.name)
    return paths


def write_part(path: Path, table: pa.Table, *, compression: str, row_group_rows: int) -> int:
    """Write ``table`` to ``path`` atomically; returns the published file's size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = temp_name(path)
    try:
        pq.write_table(
            table,
            staging,
            compression=COMPRESSION[compression],
            row_group_size=row_group_rows,
            use_dictionary=dictionary_columns(table.schema),
            coerce_timestamps="us",
            allow_truncated_timestamps=False,
        )
        os.replace(staging, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        raise
    return path.stat().st_size


def manifest_parts(folder: Path, manifest_id: str) -> list[Path]:
    """Every published part and leftover temp file of one manifest in ``folder``."""
    if not folder.is_dir():
        return []
    pattern = re.compile(rf"^\.?part-{re.escape(manifest_id)}-\d+\.parquet(\.tmp)?$")
    return sorted(p for p in folder.iterdir() if pattern.match(p.name))


def remove_leftovers(folder: Path, manifest_id: str, keep: set[Path]) -> list[Path]:
    """Delete this manifest's parts (and temp files) that are not in ``keep``; returns what went."""
    removed = []
    for path in manifest_parts(folder, manifest_id):
        if path not in keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            removed.append(path)
    return removed
