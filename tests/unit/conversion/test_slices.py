"""A manifest converted slice by slice (a run of whole file groups each: what Spark tasks do) gives what
converting it at once gives; a survey lets go of parsed tables past the budget as a write does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.arrow import part_groups
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.arrow.slices import Slice
from ndjson2parquet.conversion.engine import ConversionJob, InputFile
from ndjson2parquet.conversion.limits import ColumnLimits, merge_within_limits
from ndjson2parquet.conversion.naming import file_groups
from ndjson2parquet.conversion.schema import manifest_columns

OPTIONS = ConversionOptions(target_file_bytes=30_000, lineage=True)


def landing(root: Path) -> tuple[InputFile, ...]:
    files = []
    for f in range(7):
        lines = [orjson.dumps({"id": f * 1000 + i, "v": i if f < 4 else str(i), f"c{f % 3}": True}) for i in range(500)]
        lines[11] = b"broken"
        lines[13] = b'{"id": 1, "v": NaN}'
        path = root / f"f{f}.ndjson"
        path.write_bytes(b"\n".join(lines) + b"\n")
        files.append(InputFile(f"f{f}", str(path), path.stat().st_size))
    return tuple(files)


def job(files: tuple[InputFile, ...], root: Path) -> ConversionJob:
    return ConversionJob("m", "ev", "2026-11-25", files, str(root / "lake"), str(root / "q"), OPTIONS)


def parts(outputs: Any) -> dict[str, Any]:
    return {Path(o.path).name: pq.read_table(o.path).to_pylist() for o in outputs}


def test_slices_converted_apart_give_the_parts_of_the_whole_manifest(tmp_path: Path) -> None:
    files = landing(tmp_path)
    whole = ArrowEngine().convert(job(files, tmp_path / "whole"))
    starts = file_groups([f.size for f in files], OPTIONS.target_file_bytes)
    assert len(starts) >= 3
    sliced = [
        replace(job(files, tmp_path / "sliced"), files=files[a:b])
        for a, b in zip(starts, [*starts[1:], len(files)], strict=True)
    ]
    surveys = [ArrowEngine().convert_slice(s, Slice()) for s in sliced]
    seen = [summary for outcome in surveys for summary in outcome.seen]
    final = merge_within_limits(None, None, seen, ColumnLimits(OPTIONS.max_columns, OPTIONS.max_leaf_columns))
    columns = manifest_columns(final, seen)
    offsets = [sum(o.parts for o in surveys[:i]) for i in range(len(surveys))]
    writes = [ArrowEngine().convert_slice(s, Slice(n, final, columns)) for s, n in zip(sliced, offsets, strict=True)]
    assert parts(o for w in writes for o in w.result.outputs) == parts(whole.outputs)
    assert [r for w in writes for r in w.bad] == [
        orjson.loads(line) for line in Path(whole.quarantine_path or "").read_bytes().splitlines()
    ]
    ledgers = {k: v for w in writes for k, v in w.result.ledgers.items()}
    assert {k: replace(v, outputs=tuple(Path(o).name for o in v.outputs)) for k, v in ledgers.items()} == {
        k: replace(v, outputs=tuple(Path(o).name for o in v.outputs)) for k, v in whole.ledgers.items()
    }
    assert not (tmp_path / "sliced" / "q").exists()  # a slice writes no quarantine file: the caller joins them


def test_a_survey_lets_go_of_parsed_tables_and_tells_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = landing(tmp_path)
    kept = ArrowEngine().convert_slice(job(files, tmp_path / "a"), Slice())
    let_go: list[int] = []
    original = part_groups.let_go

    def spy(run: Any, groups: list[Any]) -> None:
        for group in groups:
            for future in group.parses:
                future.exception()
        original(run, groups)
        let_go.append(sum(g.seen is not None for g in groups))

    monkeypatch.setattr(part_groups, "KEEP_BYTES", 0)
    monkeypatch.setattr(part_groups, "let_go", spy)
    lean = ArrowEngine().convert_slice(job(files, tmp_path / "b"), Slice())
    assert max(let_go) >= 3
    assert (lean.parts, lean.result.ledgers, lean.result.rows_quarantined) == (
        kept.parts,
        kept.result.ledgers,
        kept.result.rows_quarantined,
    )
    assert [(s.names, c) for s, c in lean.seen] == [(s.names, c) for s, c in kept.seen]
    assert not (tmp_path / "a" / "lake").exists() and not (tmp_path / "b" / "lake").exists()  # a survey writes nothing
