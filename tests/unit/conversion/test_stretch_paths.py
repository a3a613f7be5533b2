"""The fast path (whole stretches screened at once) and the line-by-line path give the same rows, lines, offsets.

Stretches are made tiny here, so files are cut at lines into many pieces and both paths alternate.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion import arrow_engine
from ndjson2parquet.conversion.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, InputFile

SPECIAL = {
    10: b"",  # blank
    20: b"broken",  # quarantined while screening
    30: b'{"id":30,"v":"text"}',  # a misfit: rescued, or quarantined after the parse in strict mode
    45: b'{"id":45,"v":18446744073709551616}',  # exact path
}


def lines_of(count: int) -> list[bytes]:
    return [SPECIAL.get(i, orjson.dumps({"id": i, "v": i, "pad": "x" * (i % 7)})) for i in range(count)]


def job_for(paths: list[Path], root: Path, **options: Any) -> ConversionJob:
    files = tuple(InputFile(file_id=f"f{i}", uri=str(p), size=p.stat().st_size) for i, p in enumerate(paths))
    return ConversionJob(
        "m1", "events", "2026-11-25", files, str(root / "lake"), str(root / "q"), ConversionOptions(**options)
    )


def quarantined(path: str | None) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()] if path else []


@pytest.mark.parametrize("stretch", [200, 700, 1 << 20])
@pytest.mark.parametrize("bom", [False, True])
def test_rows_lines_and_offsets_whatever_the_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stretch: int, bom: bool
) -> None:
    monkeypatch.setattr(arrow_engine, "STRETCH_BYTES", stretch)
    lines = lines_of(60)
    prefix = b"\xef\xbb\xbf" if bom else b""
    body = prefix + b"\n".join(lines) + b"\n"
    offsets = [len(prefix) + sum(len(line) + 1 for line in lines[:i]) for i in range(len(lines))]
    clean = tmp_path / "clean.ndjson"
    clean.write_bytes(b"".join(orjson.dumps({"id": 100 + i, "v": i}) + b"\n" for i in range(40)))
    mixed = tmp_path / "mixed.ndjson.gz"
    mixed.write_bytes(gzip.compress(body))
    paths = [clean, mixed, clean]

    result = ArrowEngine().convert(job_for(paths, tmp_path, lineage=True, strict=True))
    records = quarantined(result.quarantine_path)
    found = {(r["source"], r["line"]): r for r in records}
    assert set(found) == {(str(mixed), 21), (str(mixed), 31), (str(mixed), 46)}  # strict: the big integer too
    assert found[(str(mixed), 21)]["offset"] == offsets[20] and found[(str(mixed), 21)]["raw"] == "broken"
    assert found[(str(mixed), 31)]["offset"] == offsets[30] and found[(str(mixed), 31)]["reason"].startswith("strict")
    assert found[(str(mixed), 46)]["offset"] == offsets[45]
    ledger = result.ledgers["f1"]
    assert (ledger.lines, ledger.blank, ledger.rows_quarantined, ledger.rows_written) == (60, 1, 3, 56)
    assert result.ledgers["f0"].rows_written == 40 and result.ledgers["f2"].rows_written == 40

    result = ArrowEngine().convert(job_for(paths, tmp_path, lineage=True))
    rows = [row for o in result.outputs for row in pq.read_table(o.path).to_pylist()]
    assert len(rows) == 40 + 58 + 40 and result.rows_quarantined == 1
    for row in rows:
        if row["_source_file"] == str(mixed):
            assert row["_source_line"] == row["id"] + 1
        else:
            assert row["_source_line"] == row["id"] - 100 + 1
    by_id = {row["id"]: row for row in rows if row["_source_file"] == str(mixed)}
    assert json.loads(by_id[30]["_rescued_data"]) == {"v": "text"}
    assert by_id[45]["_rescued_data"] == '{"v":18446744073709551616}'


def test_a_row_of_the_fast_path_quarantined_after_its_parse_has_its_offset(tmp_path: Path) -> None:
    lines = [orjson.dumps({"id": i, "v": i}) for i in range(50)]
    lines[37] = b'{"id":37,"v":"text"}'  # every line is a clean object: the stretch takes the fast path
    body = b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n"
    path = tmp_path / "in.ndjson"
    path.write_bytes(body)
    result = ArrowEngine().convert(job_for([path], tmp_path, strict=True))
    [entry] = quarantined(result.quarantine_path)
    assert (entry["line"], entry["offset"]) == (38, 3 + sum(len(line) + 2 for line in lines[:37]))
    assert json.loads(entry["raw"]) == {"id": 37, "v": "text"}
