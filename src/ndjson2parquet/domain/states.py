"""File and manifest states, and which transitions each state machine allows."""

from __future__ import annotations

from enum import StrEnum

from .errors import InvalidTransition


class FileState(StrEnum):
    """Life of one version of one input file."""

    PENDING = "PENDING"  # registered, waiting for a manifest
    CLAIMED = "CLAIMED"  # in exactly one live manifest
    DONE = "DONE"  # its rows are in published Parquet files
    REJECTED = "REJECTED"  # unreadable as a whole; set aside with its reason
    FAILED = "FAILED"  # gave up after max attempts; `retry` puts it back
    CHANGED = "CHANGED"  # bytes already converted changed (rewritten, truncated): reported, not converted
    # REJECTED and FAILED files go back to PENDING only when a user asks (`retry --rejected`, `retry FILE`)


class ManifestState(StrEnum):
    """Life of one manifest (an immutable batch of files of one dataset and date)."""

    CLAIMING = "CLAIMING"  # a multi-step claim in progress (stores without big transactions)
    CREATED = "CREATED"  # files claimed, waiting to run
    RUNNING = "RUNNING"  # a worker holds the lease and converts
    SUCCEEDED = "SUCCEEDED"  # outputs published: the commit point
    FAILED = "FAILED"  # gave up; its files must be compensated
    COMPENSATED = "COMPENSATED"  # outputs removed, files released


FILE_TRANSITIONS: dict[str, tuple[frozenset[FileState], FileState]] = {
    "claim": (frozenset({FileState.PENDING}), FileState.CLAIMED),
    "complete": (frozenset({FileState.CLAIMED}), FileState.DONE),
    "reject": (frozenset({FileState.CLAIMED}), FileState.REJECTED),
    "release": (frozenset({FileState.CLAIMED}), FileState.PENDING),
    "give_up": (frozenset({FileState.CLAIMED}), FileState.FAILED),
    "retry": (frozenset({FileState.FAILED}), FileState.PENDING),
    # a version never converted that a newer version of the same file replaces before any run took it
    "supersede": (frozenset({FileState.PENDING, FileState.FAILED}), FileState.REJECTED),
    # a CHANGED version converted after all (`--on-changed new-version`)
    "accept": (frozenset({FileState.CHANGED}), FileState.PENDING),
    "retry_rejected": (frozenset({FileState.REJECTED}), FileState.PENDING),
}

MANIFEST_TRANSITIONS: dict[str, tuple[frozenset[ManifestState], ManifestState]] = {
    "open": (frozenset({ManifestState.CLAIMING}), ManifestState.CREATED),
    "start": (frozenset({ManifestState.CREATED}), ManifestState.RUNNING),
    "requeue": (frozenset({ManifestState.RUNNING}), ManifestState.CREATED),
    "succeed": (frozenset({ManifestState.RUNNING}), ManifestState.SUCCEEDED),
    "fail": (frozenset({ManifestState.CREATED, ManifestState.RUNNING}), ManifestState.FAILED),
    "compensate": (frozenset({ManifestState.FAILED}), ManifestState.COMPENSATED),
}


def file_transition(name: str) -> tuple[frozenset[FileState], FileState]:
    """The (allowed source states, target state) of a named file transition."""
    try:
        return FILE_TRANSITIONS[name]
    except KeyError:
        raise InvalidTransition(f"no file transition named {name!r}") from None


def manifest_transition(name: str) -> tuple[frozenset[ManifestState], ManifestState]:
    """The (allowed source states, target state) of a named manifest transition."""
    try:
        return MANIFEST_TRANSITIONS[name]
    except KeyError:
        raise InvalidTransition(f"no manifest transition named {name!r}") from None
