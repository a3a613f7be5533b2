"""Shared test settings: where the corpora written by others live (tests/data/corpora, see its SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.corpora import CORPORA, require_corpora


@pytest.fixture(scope="session")
def corpora() -> Path:
    """The folder of third-party test files kept in the repository; a missing one fails, never skips."""
    require_corpora()
    return CORPORA


@pytest.fixture(autouse=True)
def _no_settle_period(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test are complete: the CLI (and its child processes) need not wait for them
    to settle. Tests of the settle period pass --settle-seconds themselves."""
    monkeypatch.setenv("NDJSON2PARQUET_SETTLE_SECONDS", "0")
