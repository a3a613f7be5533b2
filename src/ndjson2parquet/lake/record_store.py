"""Where commit records live: a small port (write, read, delete, list) over the lake's Storage.

Keys are ``_manifests/<dataset>/date=<date>/<manifest_id>.json`` under the lake root; the leading
``_`` keeps lake readers (Athena, Spark, DuckDB, Polars) out of them. A backend writes a record
atomically (a reader sees the old one or the new one, never half of one), replaces it when the same
manifest writes it again, and lists records as a stream. On S3 these four calls are PutObject,
GetObject, DeleteObjects and a paginated ListObjectsV2; a local lake keeps its os-level folder walk.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import NotFound, ObjectGone
from ..storage.base import Storage, is_s3
from .atomic import publish_bytes, temp_name
from .commit_record import CommitRecord

RECORDS_DIR = "_manifests"
SUFFIX = ".json"


@dataclass(frozen=True, slots=True, order=True)
class RecordRef:
    """Which record: one manifest of one (dataset, date)."""

    dataset: str
    date: str
    manifest_id: str

    @property
    def key(self) -> str:
        """The record's key relative to the lake root."""
        return f"{RECORDS_DIR}/{self.dataset}/date={self.date}/{self.manifest_id}{SUFFIX}"

    @classmethod
    def of(cls, record: CommitRecord) -> RecordRef:
        """The ref of a record."""
        return cls(record.dataset, record.date, record.manifest_id)


class CommitRecords(ABC):
    """The commit records of one lake."""

    @abstractmethod
    def write(self, record: CommitRecord) -> None:
        """Publish a record atomically, replacing this manifest's earlier one."""

    @abstractmethod
    def read(self, ref: RecordRef) -> CommitRecord:
        """One record; NotFound if it is not there, BadCommitRecord if it cannot be parsed."""

    @abstractmethod
    def delete(self, ref: RecordRef) -> None:
        """Remove a record (and any half-written copy of it); nothing to remove is fine."""

    @abstractmethod
    def refs(self) -> Iterator[RecordRef]:
        """Every record, as a stream ordered by (dataset, date, manifest id)."""


class StorageCommitRecords(CommitRecords):
    """Commit records under a lake root: a local folder (os calls) or an s3:// prefix (a Storage)."""

    def __init__(self, root: str | Path, storage: Storage | None = None) -> None:
        self.on_s3 = is_s3(str(root))
        self.root: str | Path = str(root).rstrip("/") if self.on_s3 else Path(root)
        if self.on_s3 and storage is None:
            from ..storage import open_storage

            storage = open_storage(str(root))
        self.storage = storage

    def path(self, ref: RecordRef) -> Path | str:
        """Where a record is stored (a Path in a local lake, a URL on S3)."""
        if isinstance(self.root, Path):
            return self.root / ref.key
        return f"{self.root}/{ref.key}"

    def write(self, record: CommitRecord) -> None:
        where = self.path(RecordRef.of(record))
        if isinstance(where, Path):
            publish_bytes(where, record.to_json())
        else:
            self._storage().write_bytes(where, record.to_json())

    def read(self, ref: RecordRef) -> CommitRecord:
        where = self.path(ref)
        try:
            data = where.read_bytes() if isinstance(where, Path) else self._storage().read_bytes(where)
        except (FileNotFoundError, ObjectGone):
            raise NotFound(f"no commit record {where}") from None
        return CommitRecord.from_json(data, where=str(where))

    def delete(self, ref: RecordRef) -> None:
        final = self.path(ref)
        if not isinstance(final, Path):
            self._storage().delete([final])
            return
        for path in (final, temp_name(final)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def refs(self) -> Iterator[RecordRef]:
        if not isinstance(self.root, Path):
            yield from self._listed_refs(self.root)
            return
        # one folder at a time: a lake with years of records is never held in memory at once
        for dataset in _names(self.root / RECORDS_DIR, folders=True):
            for partition in _names(self.root / RECORDS_DIR / dataset, folders=True):
                if not partition.startswith("date="):
                    continue
                date = partition[len("date=") :]
                for name in _names(self.root / RECORDS_DIR / dataset / partition, folders=False):
                    if name.endswith(SUFFIX):
                        yield RecordRef(dataset, date, name[: -len(SUFFIX)])

    def _listed_refs(self, root: str) -> Iterator[RecordRef]:
        """The records of an S3 lake, one ListObjectsV2 page at a time, in key order (which is
        (dataset, date, manifest id) order except where one dataset's name extends another's)."""
        start = len(root) + len(RECORDS_DIR) + 2
        for found in self._storage().list(f"{root}/{RECORDS_DIR}"):
            parts = found.url[start:].split("/")
            if len(parts) != 3 or not parts[1].startswith("date=") or not parts[2].endswith(SUFFIX):
                continue
            if any(p.startswith((".", "_")) for p in parts):
                continue
            yield RecordRef(parts[0], parts[1][len("date=") :], parts[2][: -len(SUFFIX)])

    def _storage(self) -> Storage:
        assert self.storage is not None
        return self.storage


#: the name the executor and tests know; a local or s3:// root alike


def _names(folder: Path, *, folders: bool) -> list[str]:
    """Sorted names of the visible folders (or files) in ``folder``; none when it does not exist."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if not e.name.startswith((".", "_")) and e.is_dir() == folders)
    except FileNotFoundError:
        return []
