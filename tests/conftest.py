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
