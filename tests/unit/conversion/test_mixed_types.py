"""A column's values of mixed types: those that fit the column's type stay in it, whatever the mix.

The slow path (stretches the native reader refuses, parsed in Python) types a stretch by its own vote
before the manifest's types are known; these tests hold it to the manifest's types: the stored one, or
for a new column the most common kind over every value of the manifest (README, "Schema").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.arrow.rows import infer_fields
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, InputFile
from ndjson2parquet.conversion.schema import merge_schema, schema_from_json, votes_of, with_votes


def convert(root: Path, lines: list[Any], manifest: str = "m1", schema: str | None = None, **options: Any):
    path = root / f"{manifest}.ndjson"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    job = ConversionJob(
        manifest_id=manifest,
        dataset="events",
        date="2026-11-25",
        files=(InputFile(file_id=manifest, uri=str(path), size=path.stat().st_size),),
        output_root=str(root / "lake"),
        quarantine_root=str(root / "quarantine"),
        options=ConversionOptions(**options),
        schema_json=schema,
    )
    return ArrowEngine().convert(job)


def stored(root: Path, line: dict[str, Any]) -> str:
    """The schema JSON a first manifest of ``line`` stores."""
    schema = convert(root, [line], "m0").schema_json
    assert schema is not None
    return schema


def rows_of(result: ConversionResult) -> list[dict[str, Any]]:
    rows = [row for o in result.outputs for row in pq.read_table(o.path).to_pylist()]
    return sorted(rows, key=lambda row: row["n"])


def column_type(result: ConversionResult, name: str) -> pa.DataType:
    return pq.read_schema(result.outputs[0].path).field(name).type


def rescued(row: dict[str, Any]) -> Any:
    return json.loads(row["_rescued_data"]) if row["_rescued_data"] is not None else None


def quarantined(result: ConversionResult) -> list[dict[str, Any]]:
    assert result.quarantine_path is not None
    return [json.loads(line) for line in Path(result.quarantine_path).read_text().splitlines()]


# --- a stored column ---------------------------------------------------------------------------------


def test_ints_stay_in_a_stored_int_column_in_strict_mode_when_strings_outnumber_them(tmp_path: Path) -> None:
    schema = stored(tmp_path, {"n": 0, "x": 1})
    lines = [{"n": 1, "x": "a"}, {"n": 2, "x": "b"}, {"n": 3, "x": "c"}, {"n": 4, "x": 4.0}, {"n": 5, "x": 5}]
    result = convert(tmp_path, lines, schema=schema, strict=True)  # a whole double fits an int64 column
    assert [(row["n"], row["x"], row["_rescued_data"]) for row in rows_of(result)] == [(4, 4, None), (5, 5, None)]
    assert sorted(json.loads(record["raw"])["n"] for record in quarantined(result)) == [1, 2, 3]
    assert result.rows_quarantined == 3 and result.values_rescued == 0


def test_strings_stay_in_a_stored_string_column_when_ints_outnumber_them(tmp_path: Path) -> None:
    schema = stored(tmp_path, {"n": 0, "s": "z"})
    lines = [{"n": 1, "s": 1}, {"n": 2, "s": 2}, {"n": 3, "s": 3}, {"n": 4, "s": "d"}]
    result = convert(tmp_path, lines, schema=schema)
    rows = rows_of(result)
    assert [row["s"] for row in rows] == [None, None, None, "d"]
    assert [rescued(row) for row in rows] == [{"s": 1}, {"s": 2}, {"s": 3}, None]
    assert result.values_rescued == 3


def test_ints_fit_a_stored_double_column_beside_more_strings(tmp_path: Path) -> None:
    schema = stored(tmp_path, {"n": 0, "f": 0.5})
    lines = [{"n": 1, "f": "a"}, {"n": 2, "f": "b"}, {"n": 3, "f": 3}, {"n": 4, "f": 4.5}]
    result = convert(tmp_path, lines, schema=schema)
    rows = rows_of(result)
    assert [row["f"] for row in rows] == [None, None, 3.0, 4.5]
    assert [rescued(row) for row in rows] == [{"f": "a"}, {"f": "b"}, None, None]
    assert column_type(result, "f") == pa.float64()


def test_fitting_values_stay_in_a_stored_struct_field_when_misfits_outnumber_them(tmp_path: Path) -> None:
    schema = stored(tmp_path, {"n": 0, "u": {"x": 1, "y": "k"}})
    lines = [
        {"n": 1, "u": {"x": "a", "y": "p"}},
        {"n": 2, "u": {"x": "b"}},
        {"n": 3, "u": {"x": "c", "y": 7}},
        {"n": 4, "u": {"x": 4, "y": "q"}},
    ]
    result = convert(tmp_path, lines, schema=schema)
    rows = rows_of(result)
    assert [row["u"] for row in rows] == [
        {"x": None, "y": "p"},
        {"x": None, "y": None},
        {"x": None, "y": None},
        {"x": 4, "y": "q"},
    ]
    assert [rescued(row) for row in rows] == [{"u": {"x": "a"}}, {"u": {"x": "b"}}, {"u": {"x": "c", "y": 7}}, None]
    assert result.values_rescued == 4


def test_lists_that_fit_a_stored_list_column_stay_beside_more_lists_that_do_not(tmp_path: Path) -> None:
    schema = stored(tmp_path, {"n": 0, "l": [1]})
    lines = [{"n": 1, "l": ["a"]}, {"n": 2, "l": ["b", "c"]}, {"n": 3, "l": [3, 4]}, {"n": 4, "l": "no"}]
    result = convert(tmp_path, lines, schema=schema)
    rows = rows_of(result)
    assert [row["l"] for row in rows] == [None, None, [3, 4], None]
    assert [rescued(row) for row in rows] == [{"l": ["a"]}, {"l": ["b", "c"]}, None, {"l": "no"}]


def test_values_under_the_stored_spelling_stay_when_another_spelling_comes_first(tmp_path: Path) -> None:
    schema = stored(tmp_path, {"n": 0, "Name": "z"})
    # ``m`` drifts: the stretch is parsed in Python, where "name" comes first
    lines = [{"n": 1, "name": "a", "m": 1}, {"n": 2, "name": "b", "m": "t"}, {"n": 3, "Name": "c", "m": 3}]
    rows = rows_of(convert(tmp_path, lines, schema=schema))
    assert [row["Name"] for row in rows] == [None, None, "c"]
    assert [rescued(row) for row in rows] == [{"name": "a"}, {"name": "b", "m": "t"}, None]


# --- a new column: the most common kind over the whole manifest ---------------------------------------


def test_a_new_column_takes_the_most_common_kind_and_rescues_the_others(tmp_path: Path) -> None:
    lines = [{"n": 1, "x": "a"}, {"n": 2, "x": 2}, {"n": 3, "x": "c"}, {"n": 4, "x": 4}, {"n": 5, "x": "e"}]
    result = convert(tmp_path, lines)
    rows = rows_of(result)
    assert column_type(result, "x") == pa.string()
    assert [row["x"] for row in rows] == ["a", None, "c", None, "e"]
    assert [rescued(row) for row in rows] == [None, {"x": 2}, None, {"x": 4}, None]


def test_ints_and_doubles_of_a_new_column_vote_together_as_a_number(tmp_path: Path) -> None:
    lines = [{"n": 1, "x": "a"}, {"n": 2, "x": 2}, {"n": 3, "x": "c"}, {"n": 4, "x": 4.5}, {"n": 5, "x": 5}]
    result = convert(tmp_path, lines)
    assert column_type(result, "x") == pa.float64()
    assert [row["x"] for row in rows_of(result)] == [None, 2.0, None, 4.5, 5.0]


def test_a_tie_between_kinds_of_a_new_column_goes_to_string(tmp_path: Path) -> None:
    result = convert(tmp_path, [{"n": 1, "x": 1}, {"n": 2, "x": True}, {"n": 3, "x": "c"}, {"n": 4, "x": 4}])
    rows = rows_of(result)
    assert column_type(result, "x") == pa.int64()  # number 2, string 1, bool 1
    assert [row["x"] for row in rows] == [1, None, None, 4]
    result = convert(tmp_path, [{"n": 1, "x": 1}, {"n": 2, "x": "b"}], "m2")
    assert [row["x"] for row in rows_of(result)] == [None, "b"]


def mixed_stretches() -> list[dict[str, Any]]:
    """1,024 lines the native reader refuses, which it then halves into two stretches parsed in Python:
    the first holds more strings than ints for ``x``, the second a single string; over the manifest
    ints are the most common kind (502 against 301)."""
    first = [{"n": i, "x": f"s{i}"} if i < 300 else {"n": i, "x": i} for i in range(512)]
    second = [{"n": i, "x": i} if i < 802 else {"n": i} for i in range(512, 1024)]
    second[0] = {"n": 512, "x": "s512"}
    return first + second


def test_a_new_column_counts_every_value_of_the_manifest_whichever_stretch_set_it_aside(tmp_path: Path) -> None:
    result = convert(tmp_path, mixed_stretches())
    rows = rows_of(result)
    assert column_type(result, "x") == pa.int64()
    strings = [row["n"] for row in rows if row["x"] is None and rescued(row) is not None]
    assert strings == [*range(300), 512]
    assert all(rescued(rows[n]) == {"x": f"s{n}"} for n in strings)
    assert [row["x"] for row in rows if row["x"] is not None] == [*range(300, 512), *range(513, 802)]
    assert result.values_rescued == 301


def test_strict_mode_quarantines_only_the_values_of_the_kind_that_lost(tmp_path: Path) -> None:
    result = convert(tmp_path, mixed_stretches(), strict=True)
    assert sorted(json.loads(record["raw"])["n"] for record in quarantined(result)) == [*range(300), 512]
    assert result.rows_written == 1024 - 301 and result.values_rescued == 0


# --- the votes a chunk's schema carries --------------------------------------------------------------


def test_votes_carried_by_a_chunk_schema_count_instead_of_its_column() -> None:
    chunk = with_votes(pa.schema([("x", pa.string())]), {"x": [(pa.string(), 3), (pa.int64(), 2)]})
    assert votes_of(chunk) == {"x": [(pa.string(), 3), (pa.int64(), 2)]}
    other = pa.schema([("x", pa.int64())])
    # counted by their columns: string 3 against int 2; counted by every value: int 4 against string 3
    assert merge_schema(None, None, [(chunk, {"x": 3}), (other, {"x": 2})]).field("x").type == pa.int64()
    assert (
        merge_schema(None, None, [(pa.schema([("x", pa.string())]), {"x": 3}), (other, {"x": 2})]).field("x").type
        == pa.string()
    )


def test_votes_of_a_schema_without_them_are_empty() -> None:
    assert votes_of(pa.schema([("x", pa.string())])) == {}
    assert with_votes(pa.schema([("x", pa.string())]), {}).metadata is None
    parsed = schema_from_json('{"fields":[{"name":"x","type":"int64"}]}')
    assert parsed is not None and votes_of(parsed) == {}


def test_a_stretch_parsed_in_python_votes_once_per_kind_of_each_mixed_column() -> None:
    records: list[dict[str, Any]] = [
        {"x": "a", "y": 1},
        {"x": 1, "y": 2},
        {"x": 2.5, "y": None},
        {"x": {"k": 1}},
        {"x": {"j": "s"}},
        {"x": None},
    ]
    inferred = infer_fields(records)
    assert [(f.name, f.type) for f in inferred.fields] == [("x", pa.float64()), ("y", pa.int64())]
    assert sorted(inferred.mixed) == ["x"]  # y has one kind: its column shows every value
    votes = {str(t): n for t, n in inferred.mixed["x"]}
    assert votes == {"string": 1, "double": 2, "struct<k: int64, j: string>": 2}
