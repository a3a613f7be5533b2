"""Options shared by several commands, and the typed settings they build."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..config import env
from ..domain.errors import ConfigError
from ..state import StateStore, open_store


def state_option(required: bool = True) -> Callable[[Any], Any]:
    """`--state PATH|dynamodb://TABLE` (env NDJSON2PARQUET_STATE)."""
    return click.option(
        "--state",
        "state",
        envvar=env.STATE,
        required=required,
        metavar="PATH",
        help="State store: an SQLite file, or dynamodb://TABLE. Env NDJSON2PARQUET_STATE.",
    )


def existing_store(location: str) -> StateStore:
    """Open a state store that must already exist (status, ledger, retry, recover)."""
    if not location:
        raise ConfigError("no state store given (--state)")
    return open_store(location, must_exist=True)
