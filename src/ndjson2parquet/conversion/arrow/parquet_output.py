"""Where parts go, how they are published (atomically), and how an earlier attempt's parts are removed.

``<output_root>/<dataset>/date=<date>/part-<manifest_id>-<n>.parquet``, n = 0, 1, 2... in input order:
the same manifest always gives the same names, so a retry overwrites its own parts. A local part is
written as ``.part-<manifest_id>-<n>.parquet.tmp`` beside its final name (a leading dot: Spark, Hive,
Athena, DuckDB and Polars skip it) and renamed with ``os.replace``; it is never seen half-written. On
S3 the part is written to a local temp file and uploaded under its final key (one PUT, or a multipart
upload visible only when complete): see README "S3 publication".
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ...storage.base import Storage, is_s3
from ...storage.local import LocalStorage

_LOCAL = LocalStorage()

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


def partition_location(root: str, dataset: str, date: str) -> Path | str:
    """The Hive-style folder of one (dataset, date): a Path under a local root, a URL under s3://."""
    if is_s3(root):
        return Storage.join(root, dataset, f"date={date}")
    return Path(root) / dataset / f"date={date}"


def write_part(
    path: Path | str, table: pa.Table, *, compression: str, row_group_rows: int, storage: Storage | None = None
) -> int:
    """Write ``table`` to ``path`` (a local path or URL) atomically; returns the published file's size in bytes."""
    storage = storage or _LOCAL
    staging = storage.staging_path(str(path))
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
        size = os.stat(staging).st_size
        storage.publish_file(staging, str(path))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)
        raise
    return size


def _pattern(manifest_id: str) -> re.Pattern[str]:
    return re.compile(rf"^\.?part-{re.escape(manifest_id)}-\d+\.parquet(\.tmp)?$")


def manifest_parts(folder: Path | str, manifest_id: str, storage: Storage | None = None) -> list[Path] | list[str]:
    """Every published part and leftover temp file of one manifest in ``folder``.

    Local: the folder's entries (Paths). S3: URLs listed by the manifest's own key prefix
    (``.../part-<manifest_id>-``), page by page, so a partition of many manifests is not read whole.
    """
    pattern = _pattern(manifest_id)
    if is_s3(str(folder)):
        found = (storage or _LOCAL).list_starting(Storage.join(str(folder), f"part-{manifest_id}-"))
        return sorted(o.url for o in found if pattern.match(o.url.rsplit("/", 1)[-1]))
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if pattern.match(p.name))


def remove_leftovers(
    folder: Path | str, manifest_id: str, keep: set[Path] | set[str], storage: Storage | None = None
) -> list[Path] | list[str]:
    """Delete this manifest's parts (and temp files) that are not in ``keep``; returns what went.

    On S3 the deletions are batched (DeleteObjects, 1,000 keys a request).
    """
    kept = {str(k) for k in keep}
    if is_s3(str(folder)):
        gone = [url for url in manifest_parts(folder, manifest_id, storage) if str(url) not in kept]
        (storage or _LOCAL).delete(gone)
        return gone  # type: ignore[return-value]
    removed = []
    for path in manifest_parts(folder, manifest_id):
        if str(path) not in kept:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            removed.append(path)
    return removed  # type: ignore[return-value]
