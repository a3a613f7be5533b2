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
from .naming import partition_dir


def quarantine_path(root: str, dataset: str, date: str, manifest_id: str) -> Path:
    """Where a manifest's quarantine file goes."""
    return partition_dir(root, dataset, date) / f"{manifest_id}.ndjson"


def publish(path: Path, records: list[dict[str, Any]]) -> str | None:
    """Write the records (or remove a stale file when there are none); returns the path written."""
    if not records:
        remove(path)
        return None
    publish_bytes(path, b"".join(orjson.dumps(record) + b"\n" for record in records))
    return str(path)


def remove(path: Path) -> None:
    """Delete a quarantine file and its temp file, if any."""
    for candidate in (path, temp_name(path)):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
