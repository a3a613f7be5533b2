"""`open_store` as a context manager, and `create_store` for SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from ndjson2parquet.state import create_store, open_store
from ndjson2parquet.state.sqlite import SqliteStore


def test_with_open_store_closes_the_store_when_the_block_ends(tmp_path: Path) -> None:
    with open_store(tmp_path / "state.db") as store:
        assert isinstance(store, SqliteStore)
        assert store.counts()["files"]["PENDING"] == 0
        assert store.db._connection is not None
    assert store.db._connection is None


def test_with_open_store_closes_the_store_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), open_store(tmp_path / "state.db") as store:
        store.counts()
        raise RuntimeError("boom")
    assert store.db._connection is None  # type: ignore[attr-defined]


def test_create_store_makes_an_sqlite_file_once(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    assert create_store(path) is True
    assert path.is_file()
    assert create_store(path) is False
    with open_store(path, read_only=True) as store:
        assert store.counts()["files"]["DONE"] == 0
