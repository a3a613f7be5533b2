"""State stores: one contract (`StateStore`), an SQLite and a DynamoDB backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config.settings import StorePolicy
from ..domain.errors import ConfigError
from .base import StateStore

DYNAMODB_SCHEME = "dynamodb://"


def open_store(
    location: str | Path,
    *,
    policy: StorePolicy | None = None,
    must_exist: bool = False,
    client: Any = None,
    read_only: bool = False,
) -> StateStore:
    """`dynamodb://TABLE` → DynamoDB store; anything else is an SQLite file path.

    ``read_only`` (implies ``must_exist``): an SQLite file is opened read-only and never created or
    changed (see `SqliteStore`); a DynamoDB store is only read by the commands that ask for this.
    ``must_exist``: a missing SQLite file or DynamoDB table is a one-line ConfigError.
    """
    text = str(location)
    if text.startswith(DYNAMODB_SCHEME):
        from .dynamodb import DynamoDbStore

        table = text[len(DYNAMODB_SCHEME) :]
        if not table:
            raise ConfigError(f"no table name in {text!r}")
        store = DynamoDbStore(table, client=client, policy=policy)
        if must_exist or read_only:
            # asked now, not at the first read or write: a command that would find nothing to do
            # (an empty lake to rebuild from) must still say the table is missing
            store.requests.call("describe_table")
        return store
    from .sqlite import SqliteStore

    path = Path(text)
    if (must_exist or read_only) and not path.is_file():
        raise ConfigError(f"no state file at {path}")
    return SqliteStore(path, policy=policy, read_only=read_only)


def create_store(location: str | Path, *, client: Any = None) -> bool:
    """Create the state store at `location` if it does not exist yet; True when it was created.

    `dynamodb://TABLE`: the table (on-demand, TTL on), as Terraform would; a path: the SQLite file
    (its folder must exist). Opening a store never creates a DynamoDB table: this does, once.
    """
    text = str(location)
    if text.startswith(DYNAMODB_SCHEME):
        from .dynamodb.table import create_table

        table = text[len(DYNAMODB_SCHEME) :]
        if not table:
            raise ConfigError(f"no table name in {text!r}")
        if client is None:
            import boto3  # only when no client is injected

            client = boto3.client("dynamodb")
        return create_table(client, table, exist_ok=True)
    from .sqlite import SqliteStore

    existed = Path(text).is_file()
    SqliteStore(Path(text)).close()  # creates the file and its tables (and adds any missing ones)
    return not existed


__all__ = ["DYNAMODB_SCHEME", "StateStore", "create_store", "open_store"]
