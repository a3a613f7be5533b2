"""Parts are planned by file groups of stored sizes (``naming.file_groups``), the same for every engine."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.parquet as pq

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, InputFile
from ndjson2parquet.conversion.naming import file_groups


def test_a_group_takes_files_until_the_next_would_pass_the_target() -> None:
    assert file_groups([40, 40, 40, 40], 100) == [0, 2]
    assert file_groups([50, 50, 1], 100) == [0, 2]


def test_a_file_bigger_than_the_target_is_a_group_of_its_own() -> None:
    assert file_groups([10, 500, 10, 10], 100) == [0, 1, 2]
    assert file_groups([500], 100) == [0]


def test_no_files_no_groups() -> None:
    assert file_groups([], 100) == []


def test_a_part_never_holds_rows_of_two_file_groups(tmp_path: Path) -> None:
    """Two files of 60 % of the target each: two parts, each one file's rows (before, the first part took
    the first file and the head of the second)."""
    paths = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.ndjson"
        path.write_bytes(b"".join(orjson.dumps({"f": name, "i": i}) + b"\n" for i in range(600)))
        paths.append(path)
    target = int(paths[0].stat().st_size / 0.6)
    files = tuple(InputFile(p.stem, str(p), p.stat().st_size) for p in paths)
    job = ConversionJob(
        "m",
        "ev",
        "2026-11-25",
        files,
        str(tmp_path / "lake"),
        str(tmp_path / "q"),
        ConversionOptions(target_file_bytes=target),
    )
    result = ArrowEngine().convert(job)
    assert [{row["f"] for row in pq.read_table(o.path).to_pylist()} for o in result.outputs] == [{"a"}, {"b"}]
    assert [o.rows for o in result.outputs] == [600, 600]
