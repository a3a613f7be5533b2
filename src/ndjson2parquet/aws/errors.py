"""The two errors a step's Lambda raises, by name, for the state machine's Retry and Catch.

A Lambda's unhandled exception reaches Step Functions as an error named after its class: the ASL
retries ``StepTransientError`` with backoff, never retries ``StepTerminalError`` and catches both
into compensation. Each wraps (``from``) the step's own error, so the logs keep the real cause.
"""

from __future__ import annotations

from ..domain.errors import TerminalError, TransientError


class StepTransientError(TransientError):
    """A step failed in a way a retry may fix (throttling, a busy store, a network blip)."""


class StepTerminalError(TerminalError):
    """A step failed in a way no retry fixes (a bad document, bad configuration)."""
