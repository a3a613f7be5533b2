"""Schema JSON form and the merge / evolution rules."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from ndjson2parquet.conversion.schema import (
    fits_within,
    load_schema_file,
    merge_schema,
    merge_types,
    schema_from_json,
    schema_to_json,
    strings_only,
    timestamps_to_strings,
)
from ndjson2parquet.domain.errors import ConfigError

NESTED = pa.schema(
    [
        ("id", pa.int64()),
        ("user", pa.struct([("name", pa.string()), ("score", pa.float64())])),
        ("tags", pa.list_(pa.string())),
        ("ok", pa.bool_()),
        ("nothing", pa.null()),
    ]
)


def test_json_round_trip_keeps_names_types_and_order() -> None:
    assert schema_from_json(schema_to_json(NESTED)) == NESTED


@pytest.mark.parametrize(
    "text",
    [
        '{"fields": [{"name": "a", "type": "decimal"}]}',
        '{"fields": [{"name": "a"}]}',
        "[1]",
        "{not json",
        '{"fields": [{"name": "a", "type": "int64"}, {"name": "A", "type": "string"}]}',
    ],
)
def test_bad_schema_json_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        schema_from_json(text)


def test_no_schema_stays_none() -> None:
    assert schema_from_json(None) is None and schema_from_json("  ") is None


def test_new_fields_are_appended_after_stored_ones() -> None:
    stored = pa.schema([("b", pa.string())])
    seen = pa.schema([("a", pa.int64()), ("b", pa.string())])
    assert merge_schema(stored, None, [(seen, {"a": 1, "b": 1})]).names == ["b", "a"]


def test_a_stored_int_column_stays_int64_unless_widening_is_allowed() -> None:
    assert merge_types(pa.int64(), [(pa.float64(), 5)]) == pa.int64()
    assert merge_types(pa.int64(), [(pa.float64(), 5)], widen=True) == pa.float64()
    assert merge_types(pa.float64(), [(pa.int64(), 5)]) == pa.float64()
    nested = pa.schema([("u", pa.struct([("age", pa.int64())]))])
    seen = pa.schema([("u", pa.struct([("age", pa.float64())]))])
    assert merge_schema(nested, None, [(seen, {"u": 1})]) == nested
    assert merge_schema(nested, None, [(seen, {"u": 1})], widen=True) == seen


def test_a_part_fits_the_dataset_schema_when_its_types_agree_or_it_lacks_fields() -> None:
    dataset = pa.struct([("a", pa.int64()), ("b", pa.list_(pa.struct([("c", pa.string()), ("d", pa.float64())])))])
    assert fits_within(pa.struct([("b", pa.list_(pa.struct([("d", pa.float64())])))]), dataset)
    assert not fits_within(pa.struct([("a", pa.string())]), dataset)
    assert not fits_within(pa.struct([("x", pa.int64())]), dataset)
    assert not fits_within(pa.int64(), pa.float64())
    assert fits_within(pa.int64(), pa.float64(), widen=True)


def test_existing_column_keeps_its_type_whatever_the_majority() -> None:
    assert merge_types(pa.string(), [(pa.int64(), 1000)]) == pa.string()
    assert merge_types(pa.int64(), [(pa.string(), 1000)]) == pa.int64()


def test_fixed_type_does_not_widen() -> None:
    assert merge_types(pa.int64(), [(pa.float64(), 5)], widen=False) == pa.int64()
    fixed = pa.schema([("n", pa.int64())])
    assert merge_schema(None, fixed, [(pa.schema([("n", pa.float64())]), {"n": 3})]).field("n").type == pa.int64()


def test_most_common_kind_wins_for_a_new_column() -> None:
    assert merge_types(None, [(pa.string(), 2), (pa.int64(), 3)]) == pa.int64()
    assert merge_types(None, [(pa.int64(), 2), (pa.float64(), 2), (pa.string(), 3)]) == pa.float64()


def test_ties_go_to_string_then_number() -> None:
    assert merge_types(None, [(pa.int64(), 1), (pa.string(), 1)]) == pa.string()
    assert merge_types(None, [(pa.bool_(), 1), (pa.int64(), 1)]) == pa.int64()


def test_null_never_votes_and_takes_any_type_later() -> None:
    assert merge_types(None, [(pa.null(), 100)]) == pa.null()
    assert merge_types(pa.null(), [(pa.string(), 1)]) == pa.string()
    assert merge_types(None, [(pa.struct([]), 5)]) == pa.null()  # {} has no column to give


def test_structs_merge_children_and_lists_their_items() -> None:
    a = pa.struct([("x", pa.int64())])
    b = pa.struct([("y", pa.string()), ("x", pa.float64())])
    assert merge_types(None, [(a, 1), (b, 1)]) == pa.struct([("x", pa.float64()), ("y", pa.string())])
    assert merge_types(None, [(pa.list_(pa.int64()), 1), (pa.list_(pa.float64()), 1)]) == pa.list_(pa.float64())


def test_case_collisions_keep_the_stored_then_first_spelling() -> None:
    seen = pa.schema([("ID", pa.int64()), ("id", pa.string())])
    assert merge_schema(None, None, [(seen, {"ID": 1, "id": 9})]).names == ["ID"]
    stored = pa.schema([("Id", pa.int64())])
    assert merge_schema(stored, None, [(seen, {"ID": 1, "id": 9})]).names == ["Id"]


def test_reserved_names_are_never_columns() -> None:
    names = ["_rescued_data", "_Source_File", "_duplicate_keys", "Date", "a"]
    seen = pa.schema([(name, pa.string()) for name in names])
    assert merge_schema(None, None, [(seen, dict.fromkeys(names, 1))]).names == ["a"]


def test_a_reserved_name_in_a_schema_stored_before_it_was_reserved_is_dropped() -> None:
    stored = pa.schema([("id", pa.int64()), ("date", pa.string()), ("_duplicate_keys", pa.int64())])
    assert merge_schema(stored, None, []).names == ["id"]


def test_reserved_names_are_ordinary_fields_inside_structs() -> None:
    user = pa.struct([("date", pa.string()), ("_duplicate_keys", pa.int64())])
    assert merge_schema(None, None, [(pa.schema([("user", user)]), {"user": 1})]).field("user").type == user


def test_a_schema_file_may_not_name_a_reserved_column(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"fields": [{"name": "id", "type": "int64"}, {"name": "DATE", "type": "string"}]}))
    with pytest.raises(ConfigError, match="DATE is a reserved name"):
        load_schema_file(str(path))


def test_only_string_leaves_are_given_to_the_reader() -> None:
    assert strings_only(NESTED.field("user").type) == pa.struct([("name", pa.string())])
    assert strings_only(pa.int64()) is None
    assert strings_only(pa.list_(pa.string())) == pa.list_(pa.string())


def test_timestamps_guessed_by_the_reader_are_forced_back_to_strings() -> None:
    guessed = pa.struct([("at", pa.timestamp("s")), ("n", pa.int64())])
    assert timestamps_to_strings(guessed) == pa.struct([("at", pa.string())])
    assert timestamps_to_strings(pa.int64()) is None
