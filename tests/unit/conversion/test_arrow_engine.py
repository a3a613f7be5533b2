"""The Arrow engine beyond the engine contract (tests/engine_contract): reserved names, untyped fields, NULs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, InputFile


def make_job(
    paths: list[Path], root: Path, manifest: str = "m1", schema: str | None = None, **options: Any
) -> ConversionJob:
    files = tuple(InputFile(file_id=f"f{i}", uri=str(p), size=p.stat().st_size) for i, p in enumerate(paths))
    return ConversionJob(
        manifest_id=manifest,
        dataset="events",
        date="2026-11-25",
        files=files,
        output_root=str(root / "lake"),
        quarantine_root=str(root / "quarantine"),
        options=ConversionOptions(**options),
        schema_json=schema,
    )


def rows_of(result: ConversionResult) -> list[dict[str, Any]]:
    return [row for o in result.outputs for row in pq.read_table(o.path).to_pylist()]


def test_strict_mode_quarantines_duplicate_keys_and_keeps_reserved_names_rescued(tmp_path: Path) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"n":1,"k":1}\n{"n":2,"k":1,"k":2}\n{"n":3,"_duplicate_keys":4,"Date":"d"}\n')
    result = ArrowEngine().convert(make_job([path], tmp_path, strict=True))
    rows = sorted(rows_of(result), key=lambda row: row["n"])
    assert [row["n"] for row in rows] == [1, 3]
    assert json.loads(rows[1]["_rescued_data"]) == {"_duplicate_keys": 4, "Date": "d"}  # a name, not a misfit
    (record,) = [json.loads(line) for line in Path(result.quarantine_path or "").read_text().splitlines()]
    assert record["line"] == 2 and "duplicate keys" in record["reason"]


def test_explicit_schema_file_fixes_types(tmp_path: Path) -> None:
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps({"fields": [{"name": "n", "type": "string"}]}))
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"n":"a"}\n{"n":5}\n{"n":"c"}\n')
    result = ArrowEngine().convert(make_job([path], tmp_path, schema_file=str(schema_file)))
    rows = rows_of(result)
    assert [row["n"] for row in rows] == ["a", None, "c"] and json.loads(rows[1]["_rescued_data"]) == {"n": 5}


@pytest.mark.parametrize(
    "line",
    [
        b'{"n":1,"_duplicate_keys":"mine","k":1,"k":2}',  # exact path: duplicates and the user's key
        b'{"n":1,"_duplicate_keys":{"a":[1]},"k":1,"k":2}',
        b'{"n":1,"_Duplicate_Keys":5,"_rescued_data":"x","DATE":"2020-01-01","date":"2020-01-02"}',
    ],
)
def test_reserved_and_partition_names_never_shadow_the_users_values(tmp_path: Path, line: bytes) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(line + b'\n{"n":2,"date":"2021-05-05","user":{"date":"d","_duplicate_keys":1}}\n')
    result = ArrowEngine().convert(make_job([path], tmp_path))
    first, second = rows_of(result)
    fields = [f["name"] for f in json.loads(result.schema_json or "")["fields"]]
    assert fields == ["n", "k", "user"] or fields == ["n", "user"]
    original = json.loads(line)  # the last duplicate wins
    restored = {k: v for k, v in first.items() if v is not None and not k.startswith("_")}
    restored.update(json.loads(first["_rescued_data"]))
    assert restored == original
    if b'"k":1,"k":2' in line:
        assert json.loads(first["_duplicate_keys"]) == [["k", 1]]
    assert json.loads(second["_rescued_data"]) == {"date": "2021-05-05"}
    assert second["user"] == {"date": "d", "_duplicate_keys": 1}  # nested: ordinary fields


UNTYPED = {"id": 1, "nothing": None, "tags": [], "meta": {"x": None}, "user": {"id": 7, "gone": None}}


@pytest.mark.parametrize("strict", [False, True])
def test_fields_with_no_type_yet_are_left_out_of_the_parquet_file_and_lose_nothing(
    tmp_path: Path, strict: bool
) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(orjson.dumps(UNTYPED) + b"\n" + orjson.dumps({**UNTYPED, "id": 2, "tags": None}) + b"\n")
    result = ArrowEngine().convert(make_job([path], tmp_path, strict=strict))
    assert result.rows_written == 2 and result.rows_quarantined == 0
    (part,) = result.outputs
    schema = pq.read_schema(part.path)
    # Parquet's null type: many readers cannot read it
    assert schema.names == ["id", "user", "_rescued_data", "_duplicate_keys"]
    assert [f.name for f in schema.field("user").type] == ["id"]
    first, second = rows_of(result)
    assert json.loads(first["_rescued_data"]) == {"tags": [], "meta": {"x": None}}
    assert json.loads(second["_rescued_data"]) == {"meta": {"x": None}}
    stored = {f["name"]: f["type"] for f in json.loads(result.schema_json)["fields"]}
    assert stored["nothing"] == "null" and stored["tags"] == {"list": "null"}  # typed by a later manifest

    later = tmp_path / "later.ndjson"
    later.write_bytes(orjson.dumps({"id": 3, "nothing": 5, "tags": ["a"]}) + b"\n")
    again = ArrowEngine().convert(make_job([later], tmp_path, manifest="m2", schema=result.schema_json))
    (row,) = rows_of(again)
    assert (row["nothing"], row["tags"], row["_rescued_data"]) == (5, ["a"], None)


def test_a_utf8_file_with_a_nul_in_its_first_line_converts_its_good_lines(tmp_path: Path) -> None:
    path = tmp_path / "nul.ndjson"
    path.write_bytes(b'{"\x00":1}\n{"a":2}\n{"a":3}\n')  # a NUL in the first four bytes: no UTF-16 for all that
    result = ArrowEngine().convert(make_job([path], tmp_path))
    ledger = result.ledgers["f0"]
    assert ledger.rejection is None and (ledger.lines, ledger.rows_written, ledger.rows_quarantined) == (3, 2, 1)
    assert [row["a"] for row in rows_of(result)] == [2, 3]
    [entry] = [json.loads(line) for line in Path(result.quarantine_path or "").read_text().splitlines()]
    assert (entry["line"], entry["raw"]) == (1, '{"\x00":1}') and entry["reason"].startswith("malformed JSON")
