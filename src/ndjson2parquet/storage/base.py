"""The storage port: objects under URLs (a local path, or ``s3://bucket/key``), one interface for both.

Everything the pipeline reads or writes outside the state store goes through it: the landing zone,
the lake's parts, the quarantine, commit records, seal markers, reports, schemas and the steps'
documents. A backend promises:

- ``write_bytes`` and ``open_write`` publish atomically: a reader sees the whole object under its
  final name or nothing (locally a hidden temp name renamed; on S3 one PUT, or a multipart upload
  that becomes visible when it completes). Writing the same URL again replaces the object.
- ``list`` streams what is under a prefix page by page, never the whole listing in memory.
- ``delete`` of an absent object is no error.
- A transient failure (throttling, a reset connection) is retried with backoff inside the backend;
  what is left is raised as ``TransientError``. An object that is not there is ``ObjectGone``.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

#: how much a streamed `Storage.copy` moves at a time
COPY_BUFFER = 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One object as a listing or a lookup sees it."""

    url: str  # local absolute path or s3://bucket/key
    size: int
    modified_at: float  # epoch seconds
    version: str  # S3 ETag; locally size and mtime (see domain.records.local_version)


class Storage(ABC):
    """Objects under URLs of one kind (local paths, or s3:// URLs of any bucket)."""

    @abstractmethod
    def read_bytes(self, url: str, start: int = 0, length: int | None = None) -> bytes:
        """The object's bytes as stored, from ``start``, at most ``length`` of them (all when None)."""

    @abstractmethod
    def open_read(self, url: str) -> AbstractContextManager[BinaryIO]:
        """A stream of the object's bytes as stored, read piece by piece (objects larger than memory)."""

    @abstractmethod
    def write_bytes(self, url: str, data: bytes) -> None:
        """Publish a small object atomically, replacing any earlier one; parent folders are created."""

    @abstractmethod
    def open_write(self, url: str) -> AbstractContextManager[BinaryIO]:
        """A stream published atomically when the block exits without error; discarded if it raises."""

    @abstractmethod
    def publish_file(self, local_path: str, url: str) -> None:
        """Publish a finished local file under ``url`` atomically and drop the local copy (locally a
        rename, so ``local_path`` must be on the same file system; on S3 an upload)."""

    @abstractmethod
    def delete(self, urls: Iterable[str]) -> None:
        """Delete these objects (batched where the backend can); absent ones are fine."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[StoredObject]:
        """Every object under ``prefix`` (a folder URL), recursively, streamed page by page."""

    @abstractmethod
    def info(self, url: str) -> StoredObject | None:
        """The object's size, time and version, or None when it is not there."""

    @abstractmethod
    def staging_path(self, url: str) -> str:
        """A local path to write a file bound for ``url`` before ``publish_file``: locally a hidden
        name beside it (same file system: publishing is a rename), elsewhere a local temp file."""

    def copy(self, source: str, target: str) -> None:
        """Copy an object byte for byte to ``target``, published atomically like ``open_write``.

        Streamed piece by piece (objects larger than memory); a backend that can copy without the
        bytes passing through here (S3's CopyObject) does so. ObjectGone when ``source`` is not there.
        """
        with self.open_read(source) as reader, self.open_write(target) as writer:
            shutil.copyfileobj(reader, writer, COPY_BUFFER)

    def list_starting(self, url_prefix: str) -> Iterator[StoredObject]:
        """Every object whose URL starts with ``url_prefix`` (not only a folder: ``.../part-<id>-``)."""
        folder = url_prefix.rsplit("/", 1)[0]
        return (o for o in self.list(folder) if o.url.startswith(url_prefix))

    @staticmethod
    def join(base: str, *parts: str) -> str:
        """``base/part/part``: URLs and local paths alike use ``/``."""
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts if p)])


def is_s3(url: str) -> bool:
    """True for an ``s3://`` URL."""
    return url.startswith("s3://")
