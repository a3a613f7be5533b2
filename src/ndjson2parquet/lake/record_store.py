"""Where commit records live: a small port (write, read, delete, list) and its local-folder backend.

Keys are ``_manifests/<dataset>/date=<date>/<manifest_id>.json`` under the lake root; the leading
``_`` keeps lake readers (Athena, Spark, DuckDB, Polars) out of them. A backend writes a record
atomically (a reader sees the old one or the new one, never half of one), replaces it when the same
manifest writes it again, and lists records as a stream. An S3 backend maps these four calls to
PutObject, GetObject, DeleteObject and a paginated ListObjectsV2.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import NotFound
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


class LocalCommitRecords(CommitRecords):
    """Commit records in a local lake folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, ref: RecordRef) -> Path:
        """Where a record is stored."""
        return self.root / ref.key

    def write(self, record: CommitRecord) -> None:
        publish_bytes(self.path(RecordRef.of(record)), record.to_json())

    def read(self, ref: RecordRef) -> CommitRecord:
        path = self.path(ref)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no commit record {path}") from None
        return CommitRecord.from_json(data, where=str(path))

    def delete(self, ref: RecordRef) -> None:
        final = self.path(ref)
        for path in (final, temp_name(final)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def refs(self) -> Iterator[RecordRef]:
        # one folder at a time: a lake with years of records is never held in memory at once
        for dataset in _names(self.root / RECORDS_DIR, folders=True):
            for partition in _names(self.root / RECORDS_DIR / dataset, folders=True):
                if not partition.startswith("date="):
                    continue
                date = partition[len("date=") :]
                for name in _names(self.root / RECORDS_DIR / dataset / partition, folders=False):
                    if name.endswith(SUFFIX):
                        yield RecordRef(dataset, date, name[: -len(SUFFIX)])


def _names(folder: Path, *, folders: bool) -> list[str]:
    """Sorted names of the visible folders (or files) in ``folder``; none when it does not exist."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if not e.name.startswith((".", "_")) and e.is_dir() == folders)
    except FileNotFoundError:
        return []
