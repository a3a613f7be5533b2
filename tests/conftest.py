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


@pytest.fixture(autouse=True)
def _no_settle_period(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test are complete: the CLI (and its child processes) need not wait for them
    to settle. Tests of the settle period pass --settle-seconds themselves."""
    monkeypatch.setenv("NDJSON2PARQUET_SETTLE_SECONDS", "0")
