"""One error hierarchy. Every error is either terminal (retrying cannot help) or transient (it may)."""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error this package raises on purpose."""

    transient: bool = False


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
    """An input file cannot be read at all (corrupt compression, unreadable encoding)."""


class InputChanged(InputError):
    """The bytes of an input are not those of the version that was registered (changed since)."""


class EngineError(PipelineError):
    """A conversion engine failed; `transient` says whether a retry may help."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
