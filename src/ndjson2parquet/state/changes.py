"""Typed change records: what one conditional write of a file or a manifest sets.

`StateStore` decides every change (the rules); a backend only maps a record's fields onto its
columns or attributes, mechanically. A field left at `KEEP` is not touched; None clears it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Final

from ..domain.records import Ledger
from ..domain.states import FileState, ManifestState


class Keep(enum.Enum):
    """The type of `KEEP`: a field a change leaves as it is."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


@dataclass(slots=True)
class FileChange:
    """One conditional update of a file: applied only if it is still `expect_state` in `expect_manifest`.

    Not frozen, though nothing changes one once built: a commit builds one per file, 10,000 at a
    time, and a frozen dataclass pays a setattr call per field (2 µs a change).
    """

    file_id: str
    expect_state: FileState
    expect_manifest: str | None
    state: FileState | None = None  # None: keep the state
    manifest_id: str | Keep | None = KEEP
    attempts: int | Keep = KEEP
    ledger: Ledger | Keep = KEEP
    error: str | Keep | None = KEEP
    updated_at: float | Keep = KEEP
    expires_at: int | Keep | None = KEEP

    def values(self) -> dict[str, object]:
        """The fields this change sets besides the state (name → value; None clears the field)."""
        return {name: value for name in FILE_FIELDS if (value := getattr(self, name)) is not KEEP}

    @property
    def moves(self) -> bool:
        """Whether the file changes state (counters and listings follow)."""
        return self.state is not None and self.state != self.expect_state

    @property
    def target_manifest(self) -> str | None:
        """The manifest the file belongs to once the change is applied."""
        return self.expect_manifest if isinstance(self.manifest_id, Keep) else self.manifest_id


#: the fields of a file change besides the state, in the order backends map them
FILE_FIELDS = ("manifest_id", "attempts", "ledger", "error", "updated_at", "expires_at")


@dataclass(frozen=True, slots=True)
class ManifestChange:
    """What one conditional update of a manifest sets (`KEEP`: untouched; None clears)."""

    state: ManifestState | Keep = KEEP
    lease_owner: str | Keep | None = KEEP
    lease_expires_at: float | Keep | None = KEEP
    runs: int | Keep = KEEP
    updated_at: float | Keep = KEEP
    settled: bool | Keep = KEEP
    expires_at: int | Keep | None = KEEP  # not a manifest field: when the store may drop it (TTL)
    outputs: tuple[str, ...] | Keep = KEEP
    stats: dict[str, object] | Keep = KEEP
    error: str | Keep | None = KEEP

    def values(self) -> dict[str, object]:
        """The fields this change sets (name → value; None clears the field)."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not KEEP}

    def manifest_fields(self) -> dict[str, object]:
        """`values()` without what a `Manifest` does not hold (`expires_at`)."""
        return {k: v for k, v in self.values().items() if k != "expires_at"}


@dataclass(frozen=True, slots=True)
class RegisterResult:
    """What a registration did."""

    new: int = 0
    seen: int = 0  # already registered (same version): nothing changed
    late: list[tuple[str, str]] = field(default_factory=list)  # sealed (dataset, date)s that were reopened
