"""An object store in memory whose reads can fail (transient errors, objects gone), for the engine's reading."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import BinaryIO

from ndjson2parquet.domain.errors import ObjectGone
from ndjson2parquet.domain.records import content_digest
from ndjson2parquet.storage.base import Storage, StoredObject


class FlakyStorage(Storage):
    """S3-like objects in a dict (hand it to a RoutingStorage as its ``s3``); ``failures`` maps a URL to
    the errors its next reads raise (after ``fail_after`` bytes)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.failures: dict[str, list[Exception]] = {}
        self.fail_after = 0
        self.reads = 0

    def read_bytes(self, url: str, start: int = 0, length: int | None = None) -> bytes:
        data = self._get(url)
        return data[start:] if length is None else data[start : start + length]

    @contextmanager
    def _reader(self, url: str) -> Iterator[BinaryIO]:
        self.reads += 1
        data = self._get(url)
        failing = self.failures.get(url)
        if failing and not self.fail_after:
            raise failing.pop(0)
        stream = io.BytesIO(data)
        if failing:
            error, after = failing.pop(0), self.fail_after

            def read(n: int = -1) -> bytes:
                if stream.tell() >= after:
                    raise error
                return io.BytesIO.read(stream, n)

            stream.read = read  # type: ignore[method-assign]
        yield stream

    def open_read(self, url: str) -> AbstractContextManager[BinaryIO]:
        return self._reader(url)

    def _get(self, url: str) -> bytes:
        if url not in self.objects:
            raise ObjectGone(f"no such object: {url}", uri=url)
        return self.objects[url]

    def write_bytes(self, url: str, data: bytes) -> None:
        self.objects[url] = data

    def open_write(self, url: str) -> AbstractContextManager[BinaryIO]:
        raise NotImplementedError  # inputs only: the engine writes its outputs to local paths in these tests

    def publish_file(self, local_path: str, url: str) -> None:
        raise NotImplementedError

    def staging_path(self, url: str) -> str:
        raise NotImplementedError

    def delete(self, urls: Iterable[str]) -> None:
        for url in urls:
            self.objects.pop(url, None)

    def list(self, prefix: str) -> Iterator[StoredObject]:
        for url, data in sorted(self.objects.items()):
            if url.startswith(prefix):
                yield StoredObject(url, len(data), 0.0, content_digest(data)[:16])

    def info(self, url: str) -> StoredObject | None:
        data = self.objects.get(url)
        return None if data is None else StoredObject(url, len(data), 0.0, content_digest(data)[:16])
