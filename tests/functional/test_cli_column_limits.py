"""`run --max-columns`: fields past the limit are kept in `_rescued_data`, counted in the run report."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from ndjson2parquet.cli.main import cli


def test_run_keeps_fields_past_max_columns_in_rescued_data_and_reports_them(tmp_path: Path) -> None:
    day = tmp_path / "in" / "2026-11-25"
    day.mkdir(parents=True)
    records = [{"id": n, "name": f"n{n}"} for n in range(10)] + [{"id": 10, "x": 1, "y": 2, "z": 3}]
    (day / "a.ndjson").write_text("".join(json.dumps(r) + "\n" for r in records))
    lake = tmp_path / "lake"
    args = ["run", "--input", str(tmp_path / "in"), "--output", str(lake), "--json", "--max-columns", "3"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    (report_path,) = (lake / "_reports").glob("run-*.json")
    assert json.loads(report_path.read_text())["values_rescued"] == 2
    (part,) = lake.glob("*/date=2026-11-25/part-*.parquet")
    table = pq.read_table(part)
    assert table.column_names == ["id", "name", "x", "_rescued_data", "_duplicate_keys"]
    assert table.column("_rescued_data").to_pylist()[-1] == '{"y":2,"z":3}'


def test_run_refuses_a_max_columns_below_one(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    args = ["run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "lake"), "--max-columns", "0"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "--max-columns" in result.output
