"""File records, manifests and the ledger: plain values, no I/O."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from .states import FileState, ManifestState


def file_id_for(dataset: str, uri: str, version: str) -> str:
    """Deterministic id of one version of one object: the same event twice gives the same id."""
    digest = hashlib.blake2b(f"{dataset}\x00{uri}\x00{version}".encode(), digest_size=16)
    return digest.hexdigest()


def local_version(size: int, mtime_ns: int) -> str:
    """The version of a local file: its size and modification time (what a listing sees)."""
    return f"{size}-{mtime_ns}"


def content_digest(data: bytes | memoryview) -> str:
    """The digest the ledger keeps of the bytes a file's versions converted (SHA-256: fast in hardware)."""
    return hashlib.sha256(data).hexdigest()


#: the rejection of a version whose file changed before it was converted: its bytes are converted,
#: if at all, under the newer version the next listing registers
CHANGED_SINCE_REGISTRATION = "changed since registration: not converted under this version"

#: the rejection of a version whose file or object was not there when it was read (deleted or moved):
#: not its content's fault; `retry FILE` or `retry --rejected` converts it once it is back
GONE = "gone: not there when read"


def new_manifest_id(date: str) -> str:
    """A fresh manifest id, safe as a Step Functions execution name and in a file name."""
    return f"{date.replace('-', '')}-{int(time.time() * 1000):x}-{secrets.token_hex(6)}"


def manifest_created_at(manifest_id: str) -> float | None:
    """When a manifest id was made (epoch seconds), read back from it; None if it is not one of ours."""
    parts = manifest_id.split("-")
    try:
        return int(parts[1], 16) / 1000 if len(parts) == 3 else None
    except ValueError:
        return None


# Records built once or more per input file (ObjectInfo, Ledger, FileRecord; the engine's InputFile)
# are plain slotted dataclasses, never changed once built: a frozen dataclass pays one setattr call
# per field in __init__, which at 100,000 files was the largest single cost of a run (py-spy).
# They stay hashable (unsafe_hash: nothing assigns to their fields; make changed copies with replace).


@dataclass(slots=True, unsafe_hash=True)  # per file: not frozen (see above ObjectInfo)
class ObjectInfo:
    """An object seen in a landing zone, before it is registered."""

    uri: str  # local absolute path or s3://bucket/key
    key: str  # the path relative to the landing root: what the date is read from
    version: str  # S3 version id or ETag; locally size and mtime
    size: int
    modified_at: float  # epoch seconds


@dataclass(slots=True, unsafe_hash=True)  # per file: not frozen (see above ObjectInfo)
class Ledger:
    """Where one file's lines went. Invariant: lines = blank + rows_written + rows_quarantined."""

    lines: int = 0
    blank: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    outputs: tuple[str, ...] = ()
    rejection: str | None = None
    # the bytes of the file (as stored) this version converted: [start_offset, end_offset), its first
    # line's number, and the digest of the whole prefix [0, end_offset) (earlier versions' part too)
    start_offset: int = 0
    end_offset: int = 0
    first_line: int = 1
    digest: str | None = None

    @property
    def balanced(self) -> bool:
        """True when every line is accounted for."""
        return self.lines == self.blank + self.rows_written + self.rows_quarantined


@dataclass(slots=True, unsafe_hash=True)  # per file: not frozen (see above ObjectInfo)
class FileRecord:
    """One version of one input object, and what became of it."""

    file_id: str
    dataset: str
    uri: str
    version: str
    size: int
    date: str  # YYYY-MM-DD partition
    arrived_at: float  # the object's own time (mtime / LastModified)
    registered_at: float
    state: FileState = FileState.PENDING
    manifest_id: str | None = None
    attempts: int = 0
    ledger: Ledger = field(default_factory=Ledger)
    error: str | None = None
    updated_at: float = 0.0
    # where conversion starts: 0 for a whole file; for a continuation (a converted file that grew), the
    # end of the converted prefix and the number of the line that follows it
    start_offset: int = 0
    first_line: int = 1
    # the file_id of an earlier converted version whose bytes changed, when this one was registered
    # knowingly as a new version (`--on-changed new-version`): its lines may repeat that version's
    changed_from: str | None = None

    @classmethod
    def new(cls, dataset: str, date: str, obj: ObjectInfo, now: float) -> FileRecord:
        """A PENDING record for an object seen now."""
        return cls(
            file_id=file_id_for(dataset, obj.uri, obj.version),
            dataset=dataset,
            uri=obj.uri,
            version=obj.version,
            size=obj.size,
            date=date,
            arrived_at=obj.modified_at,
            registered_at=now,
            updated_at=now,
        )


@dataclass(frozen=True, slots=True)
class Manifest:
    """An immutable list of files of one dataset and one date, converted together."""

    manifest_id: str
    dataset: str
    date: str
    file_ids: tuple[str, ...]
    bytes: int
    state: ManifestState
    created_at: float
    updated_at: float
    reason: str = ""  # why it was closed: max_files, target_bytes, max_wait, seal, drain
    runs: int = 0  # how many times it was started
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    settled: bool = False  # files moved to their final state after SUCCEEDED / FAILED
    outputs: tuple[str, ...] = ()
    stats: dict[str, object] = field(default_factory=dict)
    error: str | None = None

    def evolve(self, **changes: object) -> Manifest:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class SealRecord:
    """What a date held when it was sealed: its files' final states and its committed manifests."""

    files: dict[str, int]  # {"DONE": n, "REJECTED": n, "FAILED": n}
    manifest_ids: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        """True when every file of the date ended DONE (no REJECTED or FAILED one)."""
        return not (self.files.get(FileState.REJECTED.value) or self.files.get(FileState.FAILED.value))


@dataclass(frozen=True, slots=True)
class DateStatus:
    """One (dataset, date): file counts per state, and its seal (with the seal record, when sealed)."""

    dataset: str
    date: str
    files: dict[str, int]
    sealed_at: float | None = None
    late_files: int = 0
    seal: SealRecord | None = None


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One bounded page of a listing; `cursor` is None on the last page."""

    items: list[T]
    cursor: str | None = None
