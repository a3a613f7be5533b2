"""Wide records (column limits, parts carrying their manifest's own columns) and deep nesting (to 1,024 levels)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionResult
from ndjson2parquet.conversion.lines import MAX_DEPTH
from ndjson2parquet.conversion.rescue import deep_merge

from .test_arrow_engine import make_job


def write(path: Path, records: list[Any]) -> Path:
    path.write_bytes(b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records))
    return path


def convert(tmp_path: Path, records: list[Any], manifest: str, schema: str | None = None, **options: Any):
    path = write(tmp_path / f"{manifest}.ndjson", records)
    return ArrowEngine().convert(make_job([path], tmp_path, manifest=manifest, schema=schema, **options))


def read_back(result: ConversionResult) -> list[dict[str, Any]]:
    """Each row as the record it came from: the row without its nulls, deep-merged with ``_rescued_data``."""
    records = []
    for output in result.outputs:
        for row in pq.read_table(output.path).to_pylist():
            rescued = row.pop("_rescued_data")
            record = _without_nulls(row)
            records.append(deep_merge(record, json.loads(rescued)) if rescued else record)
    return records


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def stored_names(result: ConversionResult) -> list[str]:
    assert result.schema_json is not None
    return [f["name"] for f in json.loads(result.schema_json)["fields"]]


# --- wide records ------------------------------------------------------------------------------


def test_a_part_carries_only_the_columns_its_manifest_has(tmp_path: Path) -> None:
    wide = {f"k{i}": (i if i % 2 else str(i)) for i in range(500)}
    first = convert(tmp_path, [{"id": 1, "name": "a"}, wide], "m1")
    assert len(stored_names(first)) == 502
    rows = [{"id": n, "name": f"n{n}"} for n in range(2000)]
    second = convert(tmp_path, rows, "m2", schema=first.schema_json)
    assert stored_names(second) == stored_names(first)  # the dataset still has every column
    for output in second.outputs:
        assert pq.read_schema(output.path).names == ["id", "name", "_rescued_data", "_duplicate_keys"]
    assert read_back(second) == rows


def test_fields_past_max_columns_are_kept_in_rescued_data_and_counted(tmp_path: Path) -> None:
    hostile = {f"x{i}": i for i in range(50)}
    records = [{"id": 0, "seen": "often"}, hostile, *({"id": n, "seen": "often"} for n in range(1, 20))]
    result = convert(tmp_path, records, "m1", max_columns=10)
    names = stored_names(result)
    # the common fields come first, whatever their order; the hostile record's first fields fill the rest
    assert names[:2] == ["id", "seen"] and names[2:] == [f"x{i}" for i in range(8)]
    assert result.values_rescued == 42 and result.rows_written == len(records)
    assert read_back(result) == records
    # the next manifest: its new fields find no room either, and nothing is lost
    later = convert(tmp_path, [{"id": 5, "late": True}], "m2", schema=result.schema_json, max_columns=10)
    assert stored_names(later) == names and read_back(later) == [{"id": 5, "late": True}]
    assert later.values_rescued == 1


def test_max_leaf_columns_bounds_nested_fields_too(tmp_path: Path) -> None:
    records = [{"id": 1, "s": {f"c{i}": i for i in range(30)}}, {"id": 2, "s": {"c0": 5}}]
    result = convert(tmp_path, records, "m1", max_leaf_columns=11)
    fields = json.loads(result.schema_json or "")["fields"]
    assert [f["name"] for f in fields] == ["id", "s"]
    assert [c["name"] for c in fields[1]["type"]["struct"]] == [f"c{i}" for i in range(10)]
    assert result.values_rescued == 20 and read_back(result) == records


def test_columns_already_stored_stay_whatever_the_limits(tmp_path: Path) -> None:
    first = convert(tmp_path, [{f"k{i}": i for i in range(20)}], "m1")
    second = convert(tmp_path, [{"k3": 1, "k19": 2, "new": 3}], "m2", schema=first.schema_json, max_columns=5)
    assert stored_names(second) == stored_names(first)
    assert [pq.read_schema(o.path).names for o in second.outputs] == [["k3", "k19", "_rescued_data", "_duplicate_keys"]]
    assert second.values_rescued == 1 and read_back(second) == [{"k3": 1, "k19": 2, "new": 3}]


def test_a_line_with_tens_of_thousands_of_keys_converts_within_the_limits(tmp_path: Path) -> None:
    wide = {f"key{i}": i for i in range(30_000)}
    records = [{"id": 1}, wide, {"id": 2}]
    result = convert(tmp_path, records, "m1")
    assert result.rows_written == 3 and result.rows_quarantined == 0
    assert len(stored_names(result)) == 1000  # the default max_columns
    assert result.values_rescued == 30_000 - 999
    assert read_back(result) == records


# --- deep nesting ------------------------------------------------------------------------------


def nested(levels: int, kinds: str) -> dict[str, Any]:
    """A record nested ``levels`` levels deep, itself included; ``kinds`` cycles the containers below it."""
    value: Any = 7
    for level in range(levels - 1, 0, -1):
        kind = kinds[level % len(kinds)]
        value = [value] if kind == "a" else {"k": value}
    return {"deep": value, "id": 1}


def nested_line(levels: int, kinds: str) -> bytes:
    """The same as JSON text, built without recursion (orjson stops at 255 levels)."""
    opens, closes = [], []
    for level in range(1, levels):
        kind = kinds[level % len(kinds)]
        opens.append(b"[" if kind == "a" else b'{"k":')
        closes.append(b"]" if kind == "a" else b"}")
    return b'{"deep":' + b"".join(opens) + b"7" + b"".join(reversed(closes)) + b',"id":1}'


@pytest.fixture
def default_recursion_limit() -> Iterator[None]:
    """The interpreter's default limit, as a caller may have it: the engine must not rely on more."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(before)


@pytest.mark.usefixtures("default_recursion_limit")
@pytest.mark.parametrize(
    ("levels", "kinds"),
    [(400, "a"), (500, "o"), (1000, "ao"), (MAX_DEPTH, "a")],
    ids=["400-arrays", "500-objects", "1000-mixed", "1024-arrays"],
)
@pytest.mark.parametrize("exact", [False, True], ids=["native", "exact"])
def test_lines_nested_up_to_the_limit_convert_and_read_back(
    tmp_path: Path, levels: int, kinds: str, exact: bool
) -> None:
    line = nested_line(levels, kinds)
    if exact:  # an integer beyond int64 sends the line to Python's parser
        line = line[:-1] + b',"big":123456789012345678901234567890}'
    ordinary = [{"id": n, "deep": None} for n in range(5)]
    result = convert(tmp_path, [*ordinary, line, *ordinary], "m1")
    assert result.rows_written == 11 and result.rows_quarantined == 0
    records = read_back(result)  # pyarrow's reader opens every part
    expected = nested(levels, kinds)
    if exact:
        expected["big"] = 123456789012345678901234567890
    assert records[5] == expected
    assert records[:5] == records[6:] == [{"id": n} for n in range(5)]


@pytest.mark.usefixtures("default_recursion_limit")
def test_a_line_nested_past_the_limit_is_quarantined_and_the_rest_converts(tmp_path: Path) -> None:
    ordinary = [{"id": n} for n in range(5)]
    result = convert(tmp_path, [*ordinary, nested_line(MAX_DEPTH + 1, "ao"), *ordinary], "m1")
    assert result.rows_written == 10 and result.rows_quarantined == 1
    assert read_back(result) == [*ordinary, *ordinary]
    assert result.quarantine_path is not None
    quarantined = json.loads(Path(result.quarantine_path).read_text())
    assert quarantined["line"] == 6 and quarantined["reason"].startswith("nesting too deep")


def test_a_nested_column_stays_as_deep_as_parquet_readers_open(tmp_path: Path) -> None:
    record = {"s": {"keep": 1, "deep": nested(120, "o")["deep"]}, "l": nested(60, "a")["deep"]}
    result = convert(tmp_path, [record], "m1")
    fields = {f["name"]: f["type"] for f in json.loads(result.schema_json or "")["fields"]}
    assert list(fields) == ["s"] and [c["name"] for c in fields["s"]["struct"]] == ["keep"]
    assert read_back(result) == [record]
