"""Memory: the parsed tables of parts written early are let go past a budget, and nothing changes for it.

With the budget at zero every finished part's tables are let go as soon as they are parsed; the result
must be the one a conversion keeping them all gives, also when a column shows up only in a late part
(the early parts are then not of the final columns: the manifest is converted again, knowing them).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.arrow import part_groups
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, InputFile


def landing(root: Path, late_column: bool) -> list[Path]:
    paths = []
    for f in range(6):
        lines = [orjson.dumps({"id": f * 1000 + i, "v": i, "pad": "x" * (i % 50)}) for i in range(600)]
        lines[7] = b"broken"  # quarantined
        lines[9] = b'{"id": 1, "v": NaN}'  # refused by the native reader: quarantined after its parse
        if late_column and f == 5:
            lines[500] = orjson.dumps({"id": 5500, "v": 1, "late": "only here"})
        path = root / f"f{f}.ndjson"
        path.write_bytes(b"\n".join(lines) + b"\n")
        paths.append(path)
    return paths


def convert(paths: list[Path], root: Path) -> ConversionResult:
    files = tuple(InputFile(f"f{i}", str(p), p.stat().st_size) for i, p in enumerate(paths))
    options = ConversionOptions(target_file_bytes=40_000, lineage=True)
    return ArrowEngine().convert(
        ConversionJob("m1", "ev", "2026-11-25", files, str(root / "lake"), str(root / "q"), options)
    )


def outcome(result: ConversionResult) -> dict[str, Any]:
    parts = {Path(o.path).name: pq.read_table(o.path) for o in result.outputs}
    quarantined = Path(result.quarantine_path).read_text().splitlines() if result.quarantine_path else []
    ledgers = {k: replace(v, outputs=tuple(Path(o).name for o in v.outputs)) for k, v in result.ledgers.items()}
    return {
        "parts": {name: (t.schema, t.to_pylist()) for name, t in parts.items()},
        "quarantined": [json.loads(line) for line in quarantined],
        "ledgers": ledgers,
        "schema": result.schema_json,
        "counts": (result.rows_written, result.rows_quarantined, result.values_rescued, result.bytes_in),
    }


@pytest.mark.parametrize("late_column", [False, True])
def test_letting_go_of_written_tables_changes_nothing_in_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, late_column: bool
) -> None:
    paths = landing(tmp_path, late_column)
    kept = outcome(convert(paths, tmp_path / "kept"))
    let_go: list[int] = []
    original = part_groups.let_go

    def spy(run: Any, groups: list[Any]) -> None:
        for group in groups:  # wait for the finished parts' parses: every one is let go, whatever the timing
            for future in group.parses:
                future.exception()
        original(run, groups)
        let_go.append(sum(g.seen is not None for g in groups))

    monkeypatch.setattr(part_groups, "KEEP_BYTES", 0)
    monkeypatch.setattr(part_groups, "let_go", spy)
    with caplog.at_level(logging.INFO, logger=ArrowEngine.__module__):
        lean = outcome(convert(paths, tmp_path / "lean"))
    assert lean == kept
    # each ~36 KB file is a file group of its own at a 40 KB target (``naming.file_groups``): six parts
    assert len(kept["parts"]) == 6 and len(kept["quarantined"]) == 12 and max(let_go) == 6
    again = [r for r in caplog.records if r.getMessage() == "converting again with the manifest's columns known"]
    assert len(again) == (1 if late_column else 0)
    assert any("late" in t[0].names for t in kept["parts"].values()) is late_column
