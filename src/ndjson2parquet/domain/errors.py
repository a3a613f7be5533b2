"""One error hierarchy. Every error is either terminal (retrying cannot help) or transient (it may)."""

from __future__ import annotations

import errno
import os

#: what the machine ran out of, by errno: disk space, disk quota, file handles (ours, the system's), memory
EXHAUSTED_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE, errno.ENOMEM})


class PipelineError(Exception):
    """Base of every error this package raises on purpose."""

    transient: bool = False
    uri: str | None = None  # the input file the error concerns, when one does


class TerminalError(PipelineError):
    """Retrying will not help: bad configuration, bad input, a broken invariant."""


class TransientError(PipelineError):
    """May succeed when tried again: throttling, a busy database, a network blip."""

    transient = True


class ConfigError(TerminalError):
    """A bad option, path or setting given by the user."""


class InvalidTransition(TerminalError):
    """A state change the state machine does not allow."""


class ConditionFailed(TerminalError):
    """A conditional write lost: the record was not in the expected state (someone else won)."""


class NotFound(TerminalError):
    """A record that should exist does not."""


class StoreUnavailable(TransientError):
    """The state store could not be reached or was busy."""


class Throttled(TransientError):
    """The backend asked us to slow down."""


class InputError(TerminalError):
    """An input file cannot be read at all (corrupt compression, unreadable encoding, not a regular
    file, no permission): it alone is set aside, with this message as its reason."""

    def __init__(self, message: str, *, uri: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri


class InputChanged(InputError):
    """The bytes of an input are not those of the version that was registered (changed since)."""


class ObjectGone(TerminalError):
    """An object (an input, a record) is not there: deleted, or never written."""

    def __init__(self, message: str, *, uri: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri


class EngineError(PipelineError):
    """A conversion engine failed; `transient` says whether a retry may help."""

    def __init__(self, message: str, *, transient: bool = False, uri: str | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.uri = uri


class StateBehindLake(TerminalError):
    """The lake holds committed manifests the state store does not know (a lost or replaced state)."""


class ResourceExhausted(PipelineError):
    """The machine ran out of disk space, quota, memory or file handles.

    Neither the input's fault nor worth an immediate retry: the manifest is put back untouched (no
    attempt spent), and the run stops with this message; a later run, once there is room, finishes it.
    """

    def __init__(self, message: str, *, uri: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri


def exhaustion(exc: BaseException) -> ResourceExhausted | None:
    """The ResourceExhausted an OS or memory error amounts to, or None for any other error."""
    if isinstance(exc, ResourceExhausted):
        return exc
    if isinstance(exc, MemoryError):
        return ResourceExhausted(f"out of memory ({type(exc).__name__}: {exc})")
    if isinstance(exc, OSError) and exc.errno in EXHAUSTED_ERRNOS:
        where = f": {exc.filename}" if exc.filename else ""
        return ResourceExhausted(f"{os.strerror(exc.errno)}{where}")
    return None
