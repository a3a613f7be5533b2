"""Part names, atomic publishing, leftover removal, the quarantine file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ndjson2parquet.conversion import quarantine
from ndjson2parquet.conversion.arrow import parquet_output
from ndjson2parquet.conversion.arrow.parquet_output import (
    manifest_parts,
    remove_leftovers,
    write_part,
)
from ndjson2parquet.conversion.naming import part_name, partition_dir

TABLE = pa.table({"a": [1, 2, 3]})


def test_names_are_deterministic_and_hive_style(tmp_path: Path) -> None:
    folder = partition_dir(str(tmp_path), "events", "2026-11-25")
    assert folder == tmp_path / "events" / "date=2026-11-25"
    assert part_name("m1", 0) == part_name("m1", 0) == "part-m1-0.parquet"


@pytest.mark.parametrize("compression", ["snappy", "zstd", "gzip", "lz4", "none"])
def test_publish_leaves_only_the_final_file(tmp_path: Path, compression: str) -> None:
    path = tmp_path / "d" / part_name("m1", 0)
    size = write_part(path, TABLE, compression=compression, row_group_rows=2)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert size == path.stat().st_size and pq.read_table(path).equals(TABLE)
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_row_groups == 2
    expected = "UNCOMPRESSED" if compression == "none" else compression.upper()
    assert metadata.row_group(0).column(0).compression.replace("LZ4_RAW", "LZ4") == expected


def test_a_failed_write_leaves_no_temp_and_no_final_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def half_write(table: pa.Table, where: Path, **_: object) -> None:
        Path(where).write_bytes(b"PAR1 half")
        raise OSError("disk full")

    monkeypatch.setattr(parquet_output.pq, "write_table", half_write)
    path = tmp_path / part_name("m1", 0)
    with pytest.raises(OSError, match="disk full"):
        write_part(path, TABLE, compression="snappy", row_group_rows=10)
    assert list(tmp_path.iterdir()) == []


def test_leftovers_of_an_earlier_attempt_are_removed(tmp_path: Path) -> None:
    for name in [
        "part-m1-0.parquet",
        "part-m1-1.parquet",
        "part-m1-2.parquet",
        ".part-m1-3.parquet.tmp",
        "part-m10-0.parquet",
        "part-m2-0.parquet",
        "other.parquet",
    ]:
        (tmp_path / name).write_bytes(b"x")
    keep = {tmp_path / "part-m1-0.parquet"}
    removed = remove_leftovers(tmp_path, "m1", keep)
    assert sorted(p.name for p in removed) == [".part-m1-3.parquet.tmp", "part-m1-1.parquet", "part-m1-2.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "other.parquet",
        "part-m1-0.parquet",
        "part-m10-0.parquet",
        "part-m2-0.parquet",
    ]
    assert manifest_parts(tmp_path / "missing", "m1") == []


def test_quarantine_file_is_written_whole_or_removed(tmp_path: Path) -> None:
    path = quarantine.quarantine_path(str(tmp_path), "ds", "2026-11-25", "m1")
    assert path == tmp_path / "ds" / "date=2026-11-25" / "m1.ndjson"
    assert quarantine.publish(path, [{"line": 1}, {"line": 2}]) == str(path)
    assert path.read_text() == '{"line":1}\n{"line":2}\n'
    assert quarantine.publish(path, []) is None and not path.exists()


def test_only_string_columns_are_dictionary_encoded(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array(range(1000), pa.int64()),
            "amount": pa.array([i / 7 for i in range(1000)], pa.float64()),
            "kind": pa.array(["a", "b"] * 500, pa.string()),
            "user": pa.array([{"name": "x", "id": i} for i in range(1000)]),
            "tags": pa.array([["t"]] * 1000, pa.list_(pa.string())),
        }
    )
    path = tmp_path / "part.parquet"
    write_part(path, table, compression="snappy", row_group_rows=1000)
    group = pq.ParquetFile(path).metadata.row_group(0)
    encoded = {
        group.column(i).path_in_schema: "RLE_DICTIONARY" in group.column(i).encodings for i in range(group.num_columns)
    }
    assert encoded == {
        "id": False,
        "amount": False,
        "kind": True,
        "user.name": True,
        "user.id": False,
        "tags.list.element": True,
    }
    assert pq.read_table(path).equals(table)
