"""Shared test settings: where the corpora written by others live."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"


@pytest.fixture(scope="session")
def corpora() -> Path:
    """The read-only folder of third-party test files (../shared/corpora)."""
    if not CORPORA.is_dir():
        pytest.fail(f"test corpora missing: {CORPORA}")
    return CORPORA
