"""Parts written while stretches are parsed (``early_write``) are the parts written afterwards, byte for byte.

Each case converts twice: once as it comes, once with the early parts refused (so they are written
afterwards from the kept chunks), and compares the files. Stretches are tiny so a part has many chunks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.arrow import early_write, reading, screening
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, InputFile


def job_for(paths: list[Path], root: Path, **options: Any) -> ConversionJob:
    files = tuple(InputFile(file_id=f"f{i}", uri=str(p), size=p.stat().st_size) for i, p in enumerate(paths))
    return ConversionJob(
        "m1", "events", "2026-11-25", files, str(root / "lake"), str(root / "q"), ConversionOptions(**options)
    )


def convert(job: ConversionJob) -> tuple[ConversionResult, dict[str, bytes], list[str]]:
    result = ArrowEngine().convert(job)
    folder = Path(job.output_root) / "events" / "date=2026-11-25"
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return result, {Path(o.path).name: Path(o.path).read_bytes() for o in result.outputs}, names


def both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[bytes], **options: Any
) -> tuple[tuple[Any, ...], tuple[Any, ...], list[bool]]:
    source = tmp_path / "in.ndjson"
    source.write_bytes(b"\n".join(lines) + b"\n")
    published: list[bool] = []
    original = early_write.EarlyWriter.publish

    def spy(self: early_write.EarlyWriter, final: Any) -> Any:
        parts = original(self, final)
        published.append(parts is not None)
        return parts

    monkeypatch.setattr(early_write.EarlyWriter, "publish", spy)
    early = convert(job_for([source], tmp_path / "a", **options))

    def refuse(self: early_write.EarlyWriter, final: Any) -> None:
        self.discard()

    monkeypatch.setattr(early_write.EarlyWriter, "publish", refuse)
    late = convert(job_for([source], tmp_path / "b", **options))
    return early, late, published


def ledgers(result: ConversionResult) -> dict[str, Any]:
    """The ledgers with their outputs' names only (the two runs write under different roots)."""
    return {k: (v.lines, v.blank, v.rows_written, [Path(o).name for o in v.outputs]) for k, v in result.ledgers.items()}


def records(count: int, extra: dict[int, dict[str, Any]] | None = None) -> list[bytes]:
    extra = extra or {}
    return [orjson.dumps({"id": i, "name": f"n{i % 5}", "v": i * 0.5, **extra.get(i, {})}) for i in range(count)]


@pytest.mark.parametrize("target", [1 << 30, 3000])
def test_early_parts_are_the_late_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: int) -> None:
    monkeypatch.setattr(reading, "STRETCH_BYTES", 500)
    lines = records(400)
    lines[50] = b"broken"  # quarantined: rows of a part are not the lines of its files
    lines[60] = b""
    early, late, published = both_ways(tmp_path, monkeypatch, lines, row_group_rows=64, target_file_bytes=target)
    assert published == [True]
    assert early[1] == late[1] and len(early[1]) >= (1 if target > 3000 else 2)
    assert early[2] == late[2] == sorted(early[1])  # no temp file left
    assert ledgers(early[0]) == ledgers(late[0]) and early[0].rows_written == 398
    first = pq.ParquetFile(tmp_path / "a" / "lake" / "events" / "date=2026-11-25" / "part-m1-0.parquet")
    assert all(first.metadata.row_group(i).num_rows == 64 for i in range(first.num_row_groups - 1))


def test_a_column_found_late_rewrites_the_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "STRETCH_BYTES", 500)
    lines = records(300, {250: {"late": "x"}, 5: {"name": 7}})  # a new column, and a rescued value
    early, late, published = both_ways(tmp_path, monkeypatch, lines, row_group_rows=64)
    assert published == [False]
    assert early[1] == late[1] and early[2] == late[2] == ["part-m1-0.parquet"]
    table = pq.read_table(tmp_path / "a" / "lake" / "events" / "date=2026-11-25" / "part-m1-0.parquet")
    assert table.column("late").to_pylist()[250] == "x" and table.num_rows == 300
    assert early[0].values_rescued == late[0].values_rescued == 1


def test_lineage_parts_are_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "STRETCH_BYTES", 400)
    lines = records(200, {7: {"v": "text"}})
    early, late, published = both_ways(tmp_path, monkeypatch, lines, lineage=True, row_group_rows=50)
    assert published == [True]
    assert early[1] == late[1] and early[0].values_rescued == 1


def test_strict_mode_never_writes_early(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = records(20, {3: {"v": "text"}})
    early, late, published = both_ways(tmp_path, monkeypatch, lines, strict=True)
    assert published == []
    assert early[1] == late[1] and early[0].rows_quarantined == 1


def test_a_failed_parse_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "STRETCH_BYTES", 300)
    calls = {"n": 0}
    original = screening.parse_buffer

    def failing(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk on fire")
        return original(*args)

    monkeypatch.setattr(screening, "parse_buffer", failing)
    source = tmp_path / "in.ndjson"
    source.write_bytes(b"\n".join(records(200)) + b"\n")
    job = job_for([source], tmp_path, row_group_rows=16)
    with pytest.raises(Exception, match="disk on fire"):
        ArrowEngine().convert(job)
    folder = tmp_path / "lake" / "events" / "date=2026-11-25"
    assert not folder.is_dir() or list(folder.iterdir()) == []
