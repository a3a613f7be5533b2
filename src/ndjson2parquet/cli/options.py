"""Options shared by several commands, and the typed settings they build."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from ..config import env
from ..config.settings import OnChanged
from ..domain.errors import ConfigError
from ..domain.partitioning import Partitioner
from ..ingest.sources import LocalSource, Source
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


def existing_store(location: str, *, read_only: bool = False) -> StateStore:
    """Open a state store that must already exist (status, ledger, verify read-only; retry, recover)."""
    if not location:
        raise ConfigError("no state store given (--state)")
    return open_store(location, must_exist=True, read_only=read_only)


_PARTITION_OPTIONS = [
    click.option("--dataset", default="default", show_default=True, help="Dataset of files whose key names none."),
    click.option("--dataset-pattern", default=None, metavar="REGEX", help="Regex with a (?P<dataset>…) group."),
    click.option(
        "--date-pattern",
        "date_patterns",
        multiple=True,
        metavar="REGEX",
        help="Regex with year, month and day groups; repeatable; replaces the default layouts. A file it gives"
        " no real date for is left out (named in the report; exit status 3), never dated by its arrival.",
    ),
]


_CHANGE_OPTIONS = [
    click.option(
        "--settle-seconds",
        "settle_seconds",
        type=click.FloatRange(0),
        default=5.0,
        show_default=True,
        envvar=env.SETTLE_SECONDS,
        help="A local file is registered once unmodified for this long (it may still be written). "
        "Env NDJSON2PARQUET_SETTLE_SECONDS.",
    ),
    click.option(
        "--on-changed",
        "on_changed",
        type=click.Choice([p.value for p in OnChanged]),
        default=OnChanged.REPORT.value,
        show_default=True,
        help="A converted file whose converted bytes changed (rewritten, truncated): report it and leave it "
        "(report), or convert it whole as a new version, its rows added to the old ones (new-version).",
    ),
]


def change_options(fn: Any) -> Any:
    """`--settle-seconds`, `--on-changed`: how files that change are registered."""
    for option in reversed(_CHANGE_OPTIONS):
        fn = option(fn)
    return fn


def partition_options(fn: Any) -> Any:
    """`--dataset`, `--dataset-pattern`, `--date-pattern`: how keys map to datasets and dates."""
    for option in reversed(_PARTITION_OPTIONS):
        fn = option(fn)
    return fn


def build_partitioner(dataset: str, dataset_pattern: str | None, date_patterns: tuple[str, ...]) -> Partitioner:
    """The Partitioner those options describe."""
    return Partitioner(
        **({"date_patterns": date_patterns} if date_patterns else {}),
        dataset_pattern=dataset_pattern,
        default_dataset=dataset,
        strict=bool(date_patterns),  # the user's own pattern: no silent fallback to the arrival date
    )


def refuse_inside(source: Source, places: Mapping[str, Path | None]) -> None:
    """One-line error when an output, quarantine or state location lies inside a local input folder.

    A later listing would read it as input (its quarantine converted into the lake); only local
    folders can nest like this.
    """
    if not isinstance(source, LocalSource):
        return
    for name, place in places.items():
        if place is None:
            continue
        resolved = Path(place).resolve()
        if resolved == source.root or source.root in resolved.parents:
            raise ConfigError(f"the {name} ({resolved}) is inside the input folder {source.root}: put it elsewhere")
