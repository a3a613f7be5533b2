"""State stores: one contract (`StateStore`), an SQLite and a DynamoDB backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config.settings import StorePolicy
from ..domain.errors import ConfigError
from .base import StateStore

DYNAMODB_SCHEME = "dynamodb://"


def open_store(
    location: str | Path, *, policy: StorePolicy | None = None, must_exist: bool = False, client: Any = None
) -> StateStore:
    """`dynamodb://TABLE` → DynamoDB store; anything else is an SQLite file path."""
    text = str(location)
    if text.startswith(DYNAMODB_SCHEME):
        from .dynamodb_store import DynamoDbStore

        table = text[len(DYNAMODB_SCHEME) :]
        if not table:
            raise ConfigError(f"no table name in {text!r}")
        return DynamoDbStore(table, client=client, policy=policy)
    from .sqlite_store import SqliteStore

    path = Path(text)
    if must_exist and not path.is_file():
        raise ConfigError(f"no state file at {path}")
    return SqliteStore(path, policy=policy)


__all__ = ["StateStore", "open_store"]
