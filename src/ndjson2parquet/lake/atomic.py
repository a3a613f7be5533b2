"""Publishing a local file atomically: written under a hidden temp name beside it, then renamed.

Lake readers (Spark, Hive, Athena, DuckDB, Polars) skip names starting with `.`, so a reader never
sees a half-written part, record, marker or report under its final name.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path


def temp_name(final: Path, *, unique: bool = False) -> Path:
    """The hidden name a file is written under before it is published.

    ``unique``: a name of this writer's own, for files that several processes may publish at once
    (the last rename wins whole); otherwise one name per file, which a re-run of its one writer reuses.
    """
    if unique:
        return final.with_name(f".{final.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")
    return final.with_name(f".{final.name}.tmp")


def publish_bytes(path: Path, data: bytes, *, unique: bool = False) -> None:
    """Write a small file atomically (temp name beside it, then rename); the folder is created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = temp_name(path, unique=unique)
    try:
        with open(staging, "wb") as handle:
            handle.write(data)
        os.replace(staging, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        raise
