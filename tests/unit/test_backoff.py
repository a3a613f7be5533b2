"""Exponential backoff with full jitter, and which errors it retries."""

from __future__ import annotations

import pytest

from ndjson2parquet.backoff import Backoff
from ndjson2parquet.domain.errors import ConditionFailed, Throttled


def test_delay_is_full_jitter_under_an_exponential_cap() -> None:
    backoff = Backoff(base=0.1, cap=1.0)
    assert [backoff.delay(n, rng=lambda: 1.0) for n in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff.delay(3, rng=lambda: 0.0) == 0.0


def test_transient_errors_are_retried_until_success() -> None:
    calls, sleeps = [], []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise Throttled("slow down")
        return "ok"

    assert Backoff(attempts=5).call(flaky, sleep=sleeps.append) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2


def test_terminal_errors_are_not_retried() -> None:
    calls = []

    def lost() -> None:
        calls.append(1)
        raise ConditionFailed("someone else won")

    with pytest.raises(ConditionFailed):
        Backoff().call(lost, sleep=lambda _: None)
    assert len(calls) == 1


def test_the_last_transient_error_surfaces_after_the_last_attempt() -> None:
    def always() -> None:
        raise Throttled("still slow")

    with pytest.raises(Throttled):
        Backoff(attempts=3).call(always, sleep=lambda _: None)
