"""`ndjson2parquet schema`: a dataset's schema in the form each reader's recipe needs.

The forms (README, "Reading the lake"): ``json`` (the stored document, usable as ``--schema-file``),
``arrow`` (a ``pa.schema`` for ``pyarrow.dataset.dataset(..., schema=...)``, the ``date`` partition
column included), ``polars`` (a schema dict for ``pl.scan_parquet(..., schema=...)``, without the
partition column, which Hive partitioning adds), ``duckdb`` (a view over ``read_parquet``), ``spark``
(a DDL string for ``spark.read.schema(...)``) and ``athena`` (``CREATE EXTERNAL TABLE``).

Every form but ``json`` lists the columns a reader sees: the typed columns (untyped ones are in no
part), then ``_rescued_data``, ``_duplicate_keys``, ``_source_file`` and ``_source_line`` (null unless
the lake was written with ``--lineage``).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pyarrow as pa

from ..conversion.schema import (
    DUPLICATES_COLUMN,
    PARTITION_COLUMNS,
    RESCUED_COLUMN,
    SOURCE_FILE_COLUMN,
    SOURCE_LINE_COLUMN,
    schema_from_json,
    written_schema,
)
from ..domain.errors import ConfigError, ObjectGone
from ..storage import is_s3, open_storage
from ..workflow.schema_sync import lake_schema_location, lake_schema_path
from .options import existing_store, state_option

FORMATS = ("json", "arrow", "polars", "duckdb", "spark", "athena")


def reader_schema(stored: pa.Schema) -> pa.Schema:
    """The columns a reader of the lake sees (without the partition column)."""
    ours = [
        pa.field(RESCUED_COLUMN, pa.string()),
        pa.field(DUPLICATES_COLUMN, pa.string()),
        pa.field(SOURCE_FILE_COLUMN, pa.string()),
        pa.field(SOURCE_LINE_COLUMN, pa.int64()),
    ]
    return pa.schema([*written_schema(stored), *ours])


def _quoted(name: str) -> str:
    return json.dumps(name)  # a valid Python string literal too


def _ident(name: str) -> str:
    """A SQL (Spark, Hive, Athena) identifier in backticks."""
    return "`" + name.replace("`", "``") + "`"


_ARROW = {"int64": "pa.int64()", "double": "pa.float64()", "bool": "pa.bool_()", "string": "pa.string()"}
_POLARS = {"int64": "pl.Int64", "double": "pl.Float64", "bool": "pl.Boolean", "string": "pl.String"}
_SQL = {"int64": "BIGINT", "double": "DOUBLE", "bool": "BOOLEAN", "string": "STRING"}


def arrow_form(schema: pa.Schema) -> str:
    """Python source of the ``pa.schema`` a PyArrow dataset reads the lake with (``date`` included)."""

    def render(arrow_type: pa.DataType) -> str:
        if pa.types.is_struct(arrow_type):
            return "pa.struct([" + ", ".join(f"({_quoted(f.name)}, {render(f.type)})" for f in arrow_type) + "])"
        if pa.types.is_list(arrow_type):
            return f"pa.list_({render(arrow_type.value_type)})"
        return _ARROW[str(arrow_type)]

    lines = [f"    ({_quoted(f.name)}, {render(f.type)})," for f in reader_schema(schema)]
    lines += [f"    ({_quoted(name)}, pa.date32())," for name in PARTITION_COLUMNS]
    return "pa.schema([\n" + "\n".join(lines) + "\n])"


def polars_form(schema: pa.Schema) -> str:
    """Python source of the schema dict ``pl.scan_parquet(..., schema=...)`` takes (Hive adds ``date``)."""

    def render(arrow_type: pa.DataType) -> str:
        if pa.types.is_struct(arrow_type):
            return "pl.Struct({" + ", ".join(f"{_quoted(f.name)}: {render(f.type)}" for f in arrow_type) + "})"
        if pa.types.is_list(arrow_type):
            return f"pl.List({render(arrow_type.value_type)})"
        return _POLARS[str(arrow_type)]

    lines = [f"    {_quoted(f.name)}: {render(f.type)}," for f in reader_schema(schema)]
    return "{\n" + "\n".join(lines) + "\n}"


def _sql_type(arrow_type: pa.DataType, separator: str) -> str:
    if pa.types.is_struct(arrow_type):
        members = (f"{_ident(f.name)}{separator}{_sql_type(f.type, separator)}" for f in arrow_type)
        return "STRUCT<" + ", ".join(members) + ">"
    if pa.types.is_list(arrow_type):
        return f"ARRAY<{_sql_type(arrow_type.value_type, separator)}>"
    return _SQL[str(arrow_type)]


def spark_form(schema: pa.Schema) -> str:
    """The DDL string ``spark.read.schema(...)`` takes, partition column included."""
    columns = [f"{_ident(f.name)} {_sql_type(f.type, ': ')}" for f in reader_schema(schema)]
    columns += [f"{_ident(name)} DATE" for name in PARTITION_COLUMNS]
    return ", ".join(columns)


def athena_form(schema: pa.Schema, dataset: str, location: str) -> str:
    """``CREATE EXTERNAL TABLE`` for Athena / Hive / Spark SQL over the dataset's folder."""
    columns = ",\n".join(f"  {_ident(f.name)} {_sql_type(f.type, ':')}" for f in reader_schema(schema))
    partitions = ", ".join(f"{_ident(name)} STRING" for name in PARTITION_COLUMNS)
    return (
        f"CREATE EXTERNAL TABLE {_ident(dataset)} (\n{columns}\n)\nPARTITIONED BY ({partitions})\n"
        f"STORED AS PARQUET\nLOCATION '{location.rstrip('/')}/{dataset}/';\nMSCK REPAIR TABLE {_ident(dataset)};"
    )


def duckdb_form(dataset: str, location: str) -> str:
    """A DuckDB view reading every part by column name (parts may hold fewer columns than the dataset)."""
    glob = f"{location.rstrip('/')}/{dataset}/*/*.parquet".replace("'", "''")
    view = '"' + dataset.replace('"', '""') + '"'
    return (
        f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM read_parquet('{glob}', "
        "hive_partitioning = true, union_by_name = true);"
    )


def render(stored_json: str, form: str, dataset: str, location: str | None) -> str:
    """The stored schema of ``dataset`` in one of ``FORMATS``."""
    schema = schema_from_json(stored_json) or pa.schema([])
    if form == "json":
        return json.dumps(json.loads(stored_json), indent=2)
    if form == "arrow":
        return arrow_form(schema)
    if form == "polars":
        return polars_form(schema)
    if form == "spark":
        return spark_form(schema)
    if location is None:
        raise ConfigError(f"--lake is needed for the {form} form (the folder given to run --output)")
    return duckdb_form(dataset, location) if form == "duckdb" else athena_form(schema, dataset, location)


@click.command("schema")
@state_option(required=False)
@click.option("--dataset", default="default", show_default=True, help="Which dataset.")
@click.option("--format", "form", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option(
    "--lake",
    default=None,
    metavar="PATH",
    help="The lake (run's --output; s3://… for Athena), named by the duckdb and athena forms "
    "[the folder holding _state/state.db]. Without --state, the schema is read from its _schemas/<dataset>.json.",
)
def schema_command(state: str | None, dataset: str, form: str, lake: str | None) -> None:
    """Print a dataset's schema as each reader's recipe needs it (README: Reading the lake)."""
    if state:
        stored_json = _from_store(state, dataset)
        if lake is None and Path(state).parent.name == "_state":  # the default layout of `run`
            lake = str(Path(state).resolve().parent.parent)
    elif lake:
        stored_json = _from_lake(lake, dataset)
    else:
        raise ConfigError("give --state (the state store) or --lake (a lake holding _schemas/<dataset>.json)")
    click.echo(render(stored_json, form, dataset, lake))


def _from_store(state: str, dataset: str) -> str:
    store = existing_store(state)
    try:
        stored = store.get_schema(dataset)
    finally:
        store.close()
    if stored is None:
        raise ConfigError(f"no schema stored for dataset {dataset!r} (nothing converted yet?)")
    return stored[1]


def _from_lake(lake: str, dataset: str) -> str:
    if is_s3(lake):
        url = str(lake_schema_location(lake, dataset))
        try:
            return open_storage(url).read_bytes(url).decode("utf-8")
        except ObjectGone as exc:
            raise ConfigError(f"no schema in the lake for {dataset!r}: {url} is not there") from exc
    path = lake_schema_path(lake, dataset)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"no schema in the lake for {dataset!r}: cannot read {path} ({exc.strerror})") from exc


COMMANDS = [schema_command]
