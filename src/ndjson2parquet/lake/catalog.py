"""A table catalog kept in step with each dataset's stored schema, so SQL engines read the lake as is.

The port (`Catalog.ensure_table`) and what any catalog implementation shares: the columns a reader
sees, as Hive types (``bigint``, ``double``, ``boolean``, ``string``, ``struct<a:bigint>``,
``array<string>``), and how a table's columns evolve. The Glue Data Catalog implementation is
``aws/catalog.py``.

Rules (the stored schema only ever grows, and a column's type is fixed once written):

* Columns are the typed columns of the stored schema in its order (untyped ones are in no part),
  then ``_rescued_data``, ``_duplicate_keys``, ``_source_file``, ``_source_line``; the partition
  column ``date`` is the table's partition key.
* Names are lower case (Glue and Athena are case-insensitive and store lower case). The schema
  module already keeps one spelling per name ignoring case, at the top level and inside structs, so
  lowering never makes two columns one; a schema that did would be refused (`ConfigError`).
* A table's existing columns are never dropped nor moved; new columns are appended in order. An
  existing column takes the stored schema's type when it differs (a struct that gained fields, or a
  column widened with ``--allow-widening``); a column the schema no longer names stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from ..conversion.schema import (
    DUPLICATES_COLUMN,
    RESCUED_COLUMN,
    SOURCE_FILE_COLUMN,
    SOURCE_LINE_COLUMN,
    schema_from_json,
    written_schema,
)
from ..domain.errors import ConfigError

PARTITION_KEY = "date"  # <dataset>/date=YYYY-MM-DD/
#: table parameter: the stored schema version the table's columns were last set from
SCHEMA_VERSION_PARAMETER = "ndjson2parquet.schema_version"

_HIVE = {"int64": "bigint", "double": "double", "bool": "boolean", "string": "string"}
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")
_OURS = (
    (RESCUED_COLUMN, "string"),
    (DUPLICATES_COLUMN, "string"),
    (SOURCE_FILE_COLUMN, "string"),
    (SOURCE_LINE_COLUMN, "bigint"),
)


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: lower-case name, Hive type."""

    name: str
    type: str


class Catalog(Protocol):
    """Keeps one table per dataset in step with the dataset's stored schema."""

    def ensure_table(self, dataset: str, schema_json: str, version: int, date: str) -> bool:
        """Create the dataset's table, or bring it up to schema ``version``; ``date``: a committed
        partition (the table's projection range starts no later than it). True when it wrote.

        Idempotent: a repeated or older version changes nothing."""
        ...


def _field_name(name: str) -> str:
    """A struct field's name inside a Hive type string: backticked unless a plain identifier."""
    lowered = name.lower()
    return lowered if _PLAIN.fullmatch(lowered) else "`" + lowered.replace("`", "``") + "`"


def hive_type(arrow_type: pa.DataType) -> str:
    """The Hive (Glue, Athena) type of one of our column types."""
    if pa.types.is_struct(arrow_type):
        _distinct([f.name for f in arrow_type])
        return "struct<" + ",".join(f"{_field_name(f.name)}:{hive_type(f.type)}" for f in arrow_type) + ">"
    if pa.types.is_list(arrow_type):
        return f"array<{hive_type(arrow_type.value_type)}>"
    try:
        return _HIVE[str(arrow_type)]
    except KeyError:
        raise ConfigError(f"type {arrow_type} has no Hive form") from None


def _distinct(names: Sequence[str]) -> None:
    lowered = [n.lower() for n in names]
    if len(set(lowered)) != len(lowered):
        raise ConfigError(f"names differ only in case ({', '.join(names)}): a catalog cannot hold both")


def table_columns(schema_json: str) -> list[Column]:
    """The columns a reader of the dataset sees (without the partition key), from the stored schema."""
    schema = written_schema(schema_from_json(schema_json) or pa.schema([]))
    _distinct(schema.names)
    return [Column(f.name.lower(), hive_type(f.type)) for f in schema] + [Column(n, t) for n, t in _OURS]


def evolved_columns(existing: Sequence[Column], wanted: Sequence[Column]) -> list[Column]:
    """``existing`` evolved toward ``wanted``: none dropped or moved, types taken from ``wanted``,
    the new ones appended in ``wanted``'s order."""
    types = {c.name: c.type for c in wanted}
    have = {c.name for c in existing}
    kept = [Column(c.name, types.get(c.name, c.type)) for c in existing]
    return kept + [c for c in wanted if c.name not in have]


def table_name(dataset: str) -> str:
    """The dataset's table name (lower case, as Glue stores it)."""
    return dataset.lower()
