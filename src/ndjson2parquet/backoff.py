"""Exponential backoff with full jitter, the one retry loop used everywhere (finding LAMBDA-PERF-002)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .domain.errors import PipelineError

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt n (0-based) is uniform in [0, min(cap, base * 2**n)]: AWS's "full jitter"."""

    base: float = 0.05
    cap: float = 5.0
    attempts: int = 8

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """The sleep before retry number `attempt`."""
        return rng() * min(self.cap, self.base * (2**attempt))

    def call(
        self,
        fn: Callable[[], T],
        *,
        retry_on: Callable[[BaseException], bool] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> T:
        """Run fn, retrying while `retry_on(error)` (default: transient pipeline errors) holds."""
        should_retry = retry_on or _is_transient
        for attempt in range(self.attempts):
            try:
                return fn()
            except Exception as exc:
                if attempt == self.attempts - 1 or not should_retry(exc):
                    raise
                sleep(self.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, PipelineError) and exc.transient
