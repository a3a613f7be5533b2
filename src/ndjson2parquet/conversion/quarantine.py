"""The quarantine file: one per manifest, one JSON object per bad line, published atomically.

``<quarantine_root>/<dataset>/date=<date>/<manifest_id>.ndjson``; each record is
``{"source", "line", "offset", "reason", "raw"}`` plus ``"raw_encoding": "base64"`` when the line is
not UTF-8 and ``"raw_truncated": true`` when only the start of a giant line is kept. Strict-mode
rows (a value that does not fit its column) are quarantined too, their ``raw`` being the record
re-serialised. A retried manifest rewrites the file whole; a manifest without bad lines leaves none.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import orjson

from ..lake.atomic import publish_bytes, temp_name
from ..storage.base import Storage, is_s3
from .naming import partition_dir


def quarantine_path(root: str, dataset: str, date: str, manifest_id: str) -> Path | str:
    """Where a manifest's quarantine file goes: a Path under a local root, a URL under s3://."""
    if is_s3(root):
        return Storage.join(root, dataset, f"date={date}", f"{manifest_id}.ndjson")
    return partition_dir(root, dataset, date) / f"{manifest_id}.ndjson"


def publish(path: Path | str, records: list[dict[str, Any]], storage: Storage | None = None) -> str | None:
    """Write the records (or remove a stale file when there are none); returns the path written.

    ``storage`` is needed for an s3:// location; a local one is written with os calls.
    """
    if not records:
        remove(path, storage)
        return None
    data = b"".join(orjson.dumps(record) + b"\n" for record in records)
    if is_s3(str(path)):
        _required(storage).write_bytes(str(path), data)
    else:
        publish_bytes(Path(path), data)
    return str(path)


def remove(path: Path | str, storage: Storage | None = None) -> None:
    """Delete a quarantine file and its temp file, if any."""
    if is_s3(str(path)):
        _required(storage).delete([str(path)])
        return
    for candidate in (Path(path), temp_name(Path(path))):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


def _required(storage: Storage | None) -> Storage:
    if storage is None:
        raise ValueError("an s3:// quarantine needs a Storage")
    return storage
