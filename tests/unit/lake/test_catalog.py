"""The columns a catalog table holds for a dataset, and how they evolve with the stored schema."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from ndjson2parquet.conversion.schema import schema_to_json
from ndjson2parquet.domain.errors import ConfigError
from ndjson2parquet.lake.catalog import Column, evolved_columns, hive_type, table_columns, table_name

OURS = [
    Column("_rescued_data", "string"),
    Column("_duplicate_keys", "string"),
    Column("_source_file", "string"),
    Column("_source_line", "bigint"),
]


def test_scalar_types_map_to_hive_types() -> None:
    assert [hive_type(t) for t in (pa.int64(), pa.float64(), pa.bool_(), pa.string())] == [
        "bigint",
        "double",
        "boolean",
        "string",
    ]


def test_nested_types_map_to_hive_structs_and_arrays_with_lower_case_field_names() -> None:
    nested = pa.struct(
        [("Id", pa.int64()), ("tags", pa.list_(pa.string())), ("geo", pa.struct([("lat", pa.float64())]))]
    )

    assert hive_type(nested) == "struct<id:bigint,tags:array<string>,geo:struct<lat:double>>"
    assert hive_type(pa.list_(pa.struct([("a", pa.bool_())]))) == "array<struct<a:boolean>>"


def test_a_struct_field_name_hive_cannot_parse_bare_is_backticked() -> None:
    assert hive_type(pa.struct([("user name", pa.string()), ("a:b", pa.int64())])) == (
        "struct<`user name`:string,`a:b`:bigint>"
    )


def test_table_columns_are_the_typed_columns_lower_cased_then_ours() -> None:
    schema = pa.schema([("EventId", pa.string()), ("nothing_yet", pa.null()), ("n", pa.int64())])

    assert table_columns(schema_to_json(schema)) == [Column("eventid", "string"), Column("n", "bigint"), *OURS]


def test_struct_fields_differing_only_in_case_are_refused() -> None:
    with pytest.raises(ConfigError, match="differ only in case"):
        hive_type(pa.struct([("a", pa.int64()), ("A", pa.int64())]))


def test_a_stored_schema_with_names_differing_only_in_case_is_refused() -> None:
    document = {"fields": [{"name": "a", "type": "int64"}, {"name": "A", "type": "int64"}]}

    with pytest.raises(ConfigError):
        table_columns(json.dumps(document))


def test_evolution_appends_new_columns_and_never_drops_or_moves_one() -> None:
    existing = [Column("a", "bigint"), Column("s", "struct<x:bigint>"), *OURS, Column("gone", "string")]
    wanted = [Column("a", "bigint"), Column("s", "struct<x:bigint,y:string>"), Column("b", "string"), *OURS]

    assert evolved_columns(existing, wanted) == [
        Column("a", "bigint"),
        Column("s", "struct<x:bigint,y:string>"),
        *OURS,
        Column("gone", "string"),
        Column("b", "string"),
    ]


def test_table_name_is_the_dataset_in_lower_case() -> None:
    assert table_name("Clicks_EU") == "clicks_eu"
