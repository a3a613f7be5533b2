"""Local folders behind the storage port: plain os calls, atomic publication by temp name + rename.

A file is written under a hidden name beside its final one (``.<name>.<pid>-<random>.tmp``) and
renamed with ``os.replace``. Lake readers (Spark, Hive, Athena, DuckDB, Polars) skip names starting
with ``.``, so a reader never sees a half-written part, record, marker or report under its final name.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..domain.errors import ObjectGone
from ..domain.records import local_version
from ..lake.atomic import publish_bytes, temp_name
from .base import Storage, StoredObject


class LocalStorage(Storage):
    """Objects are files; URLs are local paths (absolute or relative)."""

    def read_bytes(self, url: str, start: int = 0, length: int | None = None) -> bytes:
        """The file's bytes from ``start``, at most ``length`` of them; ObjectGone if it is not there."""
        try:
            with open(url, "rb") as handle:
                if start:
                    handle.seek(start)
                return handle.read() if length is None else handle.read(length)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectGone(f"not there: {url}", uri=url) from exc

    @contextlib.contextmanager
    def open_read(self, url: str) -> Iterator[BinaryIO]:
        """The open file; ObjectGone if it is not there."""
        try:
            handle = open(url, "rb")  # noqa: SIM115 - closed below
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectGone(f"not there: {url}", uri=url) from exc
        with handle:
            yield handle

    def write_bytes(self, url: str, data: bytes) -> None:
        """Write under a temp name of this writer's own, then rename (several writers: the last wins whole)."""
        publish_bytes(Path(url), data, unique=True)

    @contextlib.contextmanager
    def open_write(self, url: str) -> Iterator[BinaryIO]:
        """A temp file beside ``url``, renamed onto it when the block exits cleanly, removed otherwise."""
        final = Path(url)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = temp_name(final, unique=True)
        try:
            with open(staging, "wb") as handle:
                yield handle
            os.replace(staging, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                staging.unlink()
            raise

    def publish_file(self, local_path: str, url: str) -> None:
        """Move a finished local file onto ``url`` (a rename: it must be on the same file system)."""
        try:
            os.replace(local_path, url)
        except FileNotFoundError:  # the folder is not there yet (staged elsewhere): one mkdir, then again
            if not os.path.exists(local_path):
                raise
            Path(url).parent.mkdir(parents=True, exist_ok=True)
            os.replace(local_path, url)

    def staging_path(self, url: str) -> str:
        """The hidden ``.<name>.tmp`` beside ``url`` (its folder created): one per file, so a re-run of
        its one writer reuses it and leftovers are found by name."""
        final = Path(url)
        final.parent.mkdir(parents=True, exist_ok=True)
        return str(temp_name(final))

    def delete(self, urls: Iterable[str]) -> None:
        """Unlink each file; absent ones are fine."""
        for url in urls:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(url)

    def list(self, prefix: str) -> Iterator[StoredObject]:
        """Every file below the folder ``prefix`` (hidden ones too), one directory at a time."""
        stack = [prefix.rstrip("/") or "/"]
        while stack:
            folder = stack.pop()
            try:
                entries = os.scandir(folder)
            except (FileNotFoundError, NotADirectoryError):
                continue
            with entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file():
                        with contextlib.suppress(FileNotFoundError):
                            yield _stored(entry.path, entry.stat())

    def info(self, url: str) -> StoredObject | None:
        """The file's size and version, or None when it is not there (or not a file)."""
        try:
            st = os.stat(url)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return _stored(url, st) if not os.path.isdir(url) else None


def _stored(path: str, st: os.stat_result) -> StoredObject:
    return StoredObject(
        url=path, size=st.st_size, modified_at=st.st_mtime, version=local_version(st.st_size, st.st_mtime_ns)
    )
