"""One Storage over every kind of URL: each call is handed to the backend its URL names.

The engine reads inputs and writes parts, quarantine and records whose locations may differ in kind
(a local landing zone, a lake on S3): it holds one of these. Local paths keep the os-level backend.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, BinaryIO

from .base import Storage, StoredObject, is_s3
from .local import LocalStorage


class RoutingStorage(Storage):
    """LocalStorage for paths, S3Storage (built when first needed) for ``s3://`` URLs."""

    def __init__(self, *, s3_client: Any = None, local: Storage | None = None, s3: Storage | None = None) -> None:
        self.local = local or LocalStorage()
        self._s3 = s3
        self._s3_client = s3_client

    def backend(self, url: str) -> Storage:
        """The backend of ``url``."""
        if not is_s3(url):
            return self.local
        if self._s3 is None:
            from .s3 import S3Storage

            self._s3 = S3Storage(client=self._s3_client)
        return self._s3

    def read_bytes(self, url: str, start: int = 0, length: int | None = None) -> bytes:
        return self.backend(url).read_bytes(url, start, length)

    def open_read(self, url: str) -> AbstractContextManager[BinaryIO]:
        return self.backend(url).open_read(url)

    def write_bytes(self, url: str, data: bytes) -> None:
        self.backend(url).write_bytes(url, data)

    def open_write(self, url: str) -> AbstractContextManager[BinaryIO]:
        return self.backend(url).open_write(url)

    def publish_file(self, local_path: str, url: str) -> None:
        self.backend(url).publish_file(local_path, url)

    def staging_path(self, url: str) -> str:
        return self.backend(url).staging_path(url)

    def delete(self, urls: Iterable[str]) -> None:
        for _, group in itertools.groupby(urls, key=is_s3):
            batch = list(group)
            self.backend(batch[0]).delete(batch)

    def copy(self, source: str, target: str) -> None:
        """Within one backend its own copy (server-side on S3); across kinds a streamed copy."""
        backend = self.backend(target)
        if backend is self.backend(source):
            backend.copy(source, target)
        else:
            super().copy(source, target)

    def list(self, prefix: str) -> Iterator[StoredObject]:
        return self.backend(prefix).list(prefix)

    def list_starting(self, url_prefix: str) -> Iterator[StoredObject]:
        return self.backend(url_prefix).list_starting(url_prefix)

    def info(self, url: str) -> StoredObject | None:
        return self.backend(url).info(url)
