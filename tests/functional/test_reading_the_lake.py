"""The lake read back whole by DuckDB, Polars and PyArrow with the README's recipes, after four days of evolution.

Every value of the input comes back: the row's columns deep-merged with its ``_rescued_data``, the
earlier duplicates in ``_duplicate_keys``, the partition column holding the folder's date.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from ndjson2parquet.cli.main import cli
from ndjson2parquet.conversion.schema import fits_within, schema_from_json, written_schema
from ndjson2parquet.state.sqlite import SqliteStore
from tests.support.lake import lake_parts, read_duckdb, read_polars, read_pyarrow, restored, without_nulls

DATASET = "events"

# Four days, each converted by its own run: new columns on later days, nested fields added (in a
# struct and in a list of structs), misfits rescued, reserved and partition names, a duplicate key.
DAYS = {
    "2026-04-01": [
        '{"id":1,"name":"a","n":10,"user":{"name":"ann"},"tags":["x","y"]}',
        '{"id":2,"name":"b","n":20,"user":{"name":"bob"},"tags":[]}',
    ],
    "2026-04-02": [
        '{"id":3,"name":"c","n":30,"user":{"name":"cy","age":40},"score":1.25,"items":[{"sku":"a"}]}',
        '{"id":4,"name":"d","n":31,"user":null,"score":3,"date":"2019-12-31","_Source_File":"s"}',  # native path
    ],
    "2026-04-03": [
        '{"id":5,"name":7,"n":1.5,"user":{"name":"di","age":"old"},"items":[{"sku":"b","qty":2}]}',
        '{"id":6,"name":"e","n":50,"user":{"name":"ed","email":"e@x"},"score":2,"items":[{"sku":"c","qty":1}]}',
    ],
    "2026-04-04": [
        '{"id":7,"date":"2020-01-01","_rescued_data":"mine","_duplicate_keys":[1],"k":1,"k":2,'
        '"big":123456789012345678901234567890}',
        '{"id":8,"name":"g","n":70,"flag":true,"user":{"name":"gus","date":"nested"},"Date":"x"}',
    ],
}


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def expected_rows() -> dict[int, tuple[dict[str, Any], Any, str]]:
    """By id: (the record, its earlier duplicates, its day)."""
    expected = {}
    for day, lines in DAYS.items():
        for line in lines:
            seen: dict[str, Any] = {}
            earlier = []
            for key, value in json.loads(line, object_pairs_hook=list):  # top-level keys in order
                if key in seen:
                    earlier.append([key, seen[key]])
                seen[key] = value
            record = json.loads(line)  # the last duplicate wins
            expected[record["id"]] = (without_nulls(record), earlier or None, day)
    return expected


def build_lake(root: Path, *extra: str) -> Path:
    """Convert the days one run at a time (each day's files land after the previous run)."""
    lake = root / "lake"
    for day, lines in DAYS.items():
        folder = root / "in" / day
        folder.mkdir(parents=True)
        (folder / "a.ndjson").write_text("\n".join(lines) + "\n")
        result = invoke("run", "--input", str(root / "in"), "--output", str(lake), "--dataset", DATASET, *extra)
        assert result.exit_code == 0, result.output
    return lake


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lake(tmp_path_factory.mktemp("evolved"))


def schema_form(lake: Path, form: str) -> str:
    result = invoke("schema", "--state", str(lake / "_state" / "state.db"), "--dataset", DATASET, "--format", form)
    assert result.exit_code == 0, result.output
    return result.output


READERS: dict[str, Callable[[Path], list[dict[str, Any]]]] = {
    "duckdb": lambda lake: read_duckdb(schema_form(lake, "duckdb"), DATASET),
    "polars": lambda lake: read_polars(lake / DATASET, schema_form(lake, "polars")),
    "pyarrow": lambda lake: read_pyarrow(lake / DATASET, schema_form(lake, "arrow")),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_each_reader_reads_every_value_of_a_lake_evolved_over_four_days(lake: Path, reader: str) -> None:
    rows = READERS[reader](lake)
    expected = expected_rows()
    assert sorted(row["id"] for row in rows) == sorted(expected)
    for row in rows:
        record, duplicates, day = restored(row)
        assert (record, duplicates, str(day)) == expected[row["id"]], row


def test_the_lake_needs_every_part_of_the_recipe(lake: Path) -> None:
    # the parts differ in columns and nested fields: what a reader's defaults make of that
    import duckdb
    import polars as pl

    plain = duckdb.sql(f"SELECT * FROM read_parquet('{lake / DATASET}/*/*.parquet', hive_partitioning = true)")
    assert "flag" not in plain.columns  # DuckDB without union_by_name: the first part's columns only
    with pytest.raises(pl.exceptions.PolarsError):
        pl.scan_parquet(lake / DATASET, hive_partitioning=True, missing_columns="insert").collect()


def test_every_part_agrees_with_the_stored_schema_and_keeps_each_columns_type(lake: Path) -> None:
    store = SqliteStore(lake / "_state" / "state.db")
    try:
        stored = schema_from_json(store.get_schema(DATASET)[1])  # type: ignore[index]
    finally:
        store.close()
    assert stored is not None and "date" not in stored.names and stored.field("n").type == pa.int64()
    columns = {f.name: f.type for f in written_schema(stored)}
    parts = lake_parts(lake / DATASET)
    assert len(parts) == 4
    for part in parts:
        for field in pq.read_schema(part):
            if not field.name.startswith("_"):
                assert fits_within(field.type, columns[field.name]), (part, field)


def test_widening_is_an_opt_in_and_the_recipes_read_the_widened_lake_right(tmp_path: Path) -> None:
    lake = build_lake(tmp_path, "--allow-widening")
    types = {pq.read_schema(part).field("n").type for part in lake_parts(lake / DATASET)}
    assert types == {pa.int64(), pa.float64()}  # the cost: parts disagree on the column's type
    expected = expected_rows()
    for reader in READERS.values():
        rows = {row["id"]: row for row in reader(lake)}
        assert rows[5]["n"] == 1.5 and rows[1]["n"] == 10 and rows[8]["n"] == 70
        for key, row in rows.items():
            assert restored(row)[0] == expected[key][0]


def test_schema_prints_each_form(lake: Path) -> None:
    assert json.loads(schema_form(lake, "json"))["format"] == "ndjson2parquet.schema/1"
    spark = schema_form(lake, "spark")
    assert spark.startswith("`id` BIGINT, `name` STRING, `n` BIGINT, `user` STRUCT<`name`: STRING, ")
    assert spark.rstrip().endswith("`_source_line` BIGINT, `date` DATE")
    athena = schema_form(lake, "athena")
    assert "PARTITIONED BY (`date` STRING)" in athena and f"LOCATION '{lake / DATASET}/'" in athena
    assert "`items` ARRAY<STRUCT<`sku`:STRING, `qty`:BIGINT>>" in athena


def test_the_lake_holds_the_stored_schema_for_readers_without_the_state(lake: Path) -> None:
    store = SqliteStore(lake / "_state" / "state.db")
    try:
        version, stored = store.get_schema(DATASET)  # type: ignore[misc]
    finally:
        store.close()
    document = json.loads((lake / "_schemas" / f"{DATASET}.json").read_text())
    assert document.pop("version") == version and document == json.loads(stored)
    from_lake = invoke("schema", "--lake", str(lake), "--dataset", DATASET, "--format", "polars")
    assert from_lake.exit_code == 0 and from_lake.output == schema_form(lake, "polars")


def test_schema_without_state_or_lake_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schema"], env={"NDJSON2PARQUET_STATE": ""})
    assert result.exit_code == 1 and "give --state" in result.output
    result = CliRunner().invoke(cli, ["schema", "--lake", str(tmp_path)])
    assert result.exit_code == 1 and "no schema in the lake for 'default'" in result.output


def test_schema_of_an_unknown_dataset_is_a_one_line_error(lake: Path) -> None:
    result = CliRunner().invoke(cli, ["schema", "--state", str(lake / "_state" / "state.db"), "--dataset", "nope"])
    assert result.exit_code == 1 and result.output.strip().count("\n") == 0
    assert "no schema stored for dataset 'nope'" in result.output
