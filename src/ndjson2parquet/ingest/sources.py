"""Landing zones: a local folder or an S3 prefix, listed as a stream of objects.

Listings are generators that never hold the whole listing in memory: a folder is walked with
`os.scandir` one directory at a time, a prefix is read one `ListObjectsV2` page at a time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..domain.errors import ConfigError, ObjectGone
from ..domain.records import ObjectInfo, local_version
from ..storage.base import Storage

log = logging.getLogger(__name__)

#: how many skipped entries a listing names (all are counted)
SKIPPED_NAMED = 100

INPUT_SUFFIXES = (".ndjson", ".jsonl", ".json")
COMPRESSION_SUFFIXES = ("", ".gz", ".zst")
_INPUT_ENDINGS = tuple(s + c for s in INPUT_SUFFIXES for c in COMPRESSION_SUFFIXES)


def is_input_name(name: str) -> bool:
    """True for `x.ndjson`, `x.jsonl`, `x.json`, each optionally `.gz` / `.zst`; never hidden or `_` names."""
    if name.startswith((".", "_")):
        return False
    return name.lower().endswith(_INPUT_ENDINGS)


class Source(Protocol):
    """A landing zone that can be listed."""

    def describe(self) -> str:
        """Where it is, for messages."""
        ...

    def objects(self) -> Iterator[ObjectInfo]:
        """Every input object, streamed."""
        ...

    def read_prefix(self, uri: str, n: int) -> bytes:
        """The first n bytes of an object as stored (fewer if it is shorter)."""
        ...


@dataclass
class ListingStats:
    """What a listing passed over: every skipped entry counted, the first `SKIPPED_NAMED` named."""

    skipped: int = 0
    skipped_named: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"}

    def skip(self, path: str, reason: str) -> None:
        """Count (and name, up to the bound) one entry the listing does not take; logged at DEBUG."""
        self.skipped += 1
        if len(self.skipped_named) < SKIPPED_NAMED:
            self.skipped_named.append({"path": path, "reason": reason})
        log.debug("skipped", extra={"path": path, "reason": reason})


def skip_reason(name: str) -> str:
    """Why an entry with this name is not an input: hidden, `_`-prefixed or an unknown extension."""
    if name.startswith("."):
        return "hidden"
    if name.startswith("_"):
        return "_-prefixed"
    return "not an input extension"


@dataclass
class LocalSource:
    """A local landing folder. Hidden and `_`-prefixed entries (temp files, others' state) are skipped.

    Symbolic links to folders are not followed (a link may loop or lead out of the landing zone):
    each is skipped, counted and named. A symbolic link to a file is read like the file.
    """

    root: Path
    stats: ListingStats = field(default_factory=ListingStats)
    mutable = True  # files change in place: registered once settled (see ingest)

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        if not self.root.exists():
            raise ConfigError(f"input folder does not exist: {self.root}")
        if not self.root.is_dir():
            raise ConfigError(f"input is not a folder: {self.root}")
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise ConfigError(f"input folder is not readable: {self.root}")

    def describe(self) -> str:
        """The folder's path."""
        return str(self.root)

    def objects(self) -> Iterator[ObjectInfo]:
        """Every input file below the root, depth first, each directory listed lazily."""
        stack = [self.root]
        prefix = len(str(self.root)) + 1  # keys by slicing: os.path.relpath costs 16 µs a file
        while stack:
            folder = stack.pop()
            try:
                entries = os.scandir(folder)
            except OSError as exc:  # a folder that vanished or is unreadable: counted, not fatal
                self.stats.skip(str(folder), f"unreadable folder: {exc.strerror or exc}")
                continue
            with entries:
                for entry in entries:
                    if entry.name.startswith((".", "_")):
                        self.stats.skip(entry.path, skip_reason(entry.name))
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.is_symlink() and entry.is_dir():
                            self.stats.skip(entry.path, "symlink to a folder: not followed")
                        elif entry.is_file() and is_input_name(entry.name):
                            st = entry.stat()
                            yield ObjectInfo(
                                uri=entry.path,
                                key=entry.path[prefix:].replace(os.sep, "/"),
                                version=local_version(st.st_size, st.st_mtime_ns),
                                size=st.st_size,
                                modified_at=st.st_mtime,
                            )
                        else:
                            why = skip_reason(entry.name) if entry.is_file() else "not a regular file"
                            self.stats.skip(entry.path, why)
                    except OSError as exc:
                        self.stats.skip(entry.path, f"unreadable: {exc.strerror or exc}")

    def read_prefix(self, uri: str, n: int) -> bytes:
        """The first n bytes of a file (fewer if it is shorter; none if it is gone)."""
        return read_local_prefix(uri, n)


@dataclass
class S3Source:
    """An S3 prefix, listed through the storage port (``S3Storage``: paginated, retried with backoff).

    The client is injected; a default one (endpoint and credentials the standard way) is built only
    when none is passed. Keys under a hidden or ``_``-prefixed folder, and names that are not inputs,
    are skipped, counted and named, as in a local folder.
    """

    bucket: str
    prefix: str = ""
    client: Any = None
    stats: ListingStats = field(default_factory=ListingStats)
    storage: Any = None  # an S3Storage over `client`
    mutable = False  # an object version never changes: nothing to wait for

    def __post_init__(self) -> None:
        if self.storage is None:
            from ..storage.s3 import S3Storage

            self.storage = S3Storage(client=self.client)
        self.client = self.storage.client

    @classmethod
    def from_url(cls, url: str, client: Any = None, storage: Any = None) -> S3Source:
        """`s3://bucket/prefix` → S3Source."""
        if not url.startswith("s3://") or len(url) <= 5 or url[5] == "/":
            raise ConfigError(f"not an s3:// url: {url}")
        bucket, _, prefix = url[5:].partition("/")
        return cls(bucket=bucket, prefix=prefix, client=client, storage=storage)

    def describe(self) -> str:
        """The s3:// url."""
        return f"s3://{self.bucket}/{self.prefix}"

    def objects(self) -> Iterator[ObjectInfo]:
        """Every input object under the prefix (a folder), one page of at most 1,000 keys at a time."""
        root = f"s3://{self.bucket}/{self.prefix.strip('/')}".rstrip("/")
        start = len(root) + 1
        try:
            yield from self._listed(root, start)
        except ConfigError as exc:  # no such bucket, access refused: the user's to fix
            raise ConfigError(f"cannot list {self.describe()}: {exc}") from exc

    def _listed(self, root: str, start: int) -> Iterator[ObjectInfo]:
        for found in self.storage.list(root):
            relative = found.url[start:]
            parts = relative.split("/")
            hidden = [p for p in parts[:-1] if p.startswith((".", "_"))]
            if hidden or not is_input_name(parts[-1]):
                self.stats.skip(found.url, skip_reason(hidden[0] if hidden else parts[-1]))
                continue
            yield ObjectInfo(
                uri=found.url,
                key=relative,
                version=found.version,
                size=found.size,
                modified_at=found.modified_at,
            )

    def read_prefix(self, uri: str, n: int) -> bytes:
        """The first n bytes of an object (one ranged GET; none if it is gone)."""
        return read_object_prefix(self.storage, uri, n)


def read_object_prefix(storage: Storage, uri: str, n: int) -> bytes:
    """The first n bytes of an object (one ranged GET; none if it is gone)."""
    if n <= 0:
        return b""
    try:
        return bytes(storage.read_bytes(uri, 0, n))
    except ObjectGone:
        return b""


def read_local_prefix(uri: str, n: int) -> bytes:
    """The first n bytes of a local file (fewer if it is shorter; none if it is gone)."""
    try:
        with open(uri, "rb") as handle:
            return handle.read(n)
    except FileNotFoundError:
        return b""


def open_source(location: str, s3_client: Any = None, storage: Any = None) -> Source:
    """A local path or an s3:// url → its Source (over ``storage``, an S3Storage, when given)."""
    if location.startswith("s3://"):
        return S3Source.from_url(location, client=s3_client, storage=storage)
    return LocalSource(Path(location))
