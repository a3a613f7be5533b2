"""The Arrow engine over every file of tests/data/corpora (written by others), read back and compared.

Each corpus file is one manifest of its own (too many to run for every engine and storage: the engine
contract suite, tests/engine_contract, runs a few corpora, the JSONTestSuite texts and numbers and a
nesting bomb on each).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import zstandard

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, InputFile
from ndjson2parquet.conversion.inputs import UTF8_BOM
from ndjson2parquet.conversion.rescue import deep_merge
from tests.support.corpora import CORPORA, require_corpora
from tests.support.lake import normalise

ALL_FILES = require_corpora()  # at collection: a missing corpus fails the run, never shrinks it
DRIFT = [
    "mongodb-json-files/datasets/products.json",
    "mongodb-json-files/datasets/restaurant.json",
    "duckdb-json/data/json/inconsistent_schemas.ndjson",
    "arrow-rs-json/arrow-json/test/data/mixed_arrays.json",
    "arrow-rs-json/arrow-json/test/data/mixed_arrays.json.gz",
    "apache-drill-json/exec/java-exec/src/test/resources/jsoninput/big_numeric.json",
    "duckdb-json/data/json/duplicate_column_names.json",
    "clickhouse-jsoneachrow/tests/queries/0_stateless/data_json/twitter.jsonl",
]


def convert(paths: list[Path], out: Path, **options: Any) -> ConversionResult:
    files = tuple(InputFile(file_id=str(i), uri=str(p), size=p.stat().st_size) for i, p in enumerate(paths))
    job = ConversionJob(
        manifest_id="m1",
        dataset="ds",
        date="2026-11-25",
        files=files,
        output_root=str(out / "lake"),
        quarantine_root=str(out / "quarantine"),
        options=ConversionOptions(lineage=True, **options),
    )
    return ArrowEngine().convert(job)


def read_rows(result: ConversionResult) -> list[dict[str, Any]]:
    return [row for output in result.outputs for row in pq.read_table(output.path).to_pylist()]


def read_quarantine(result: ConversionResult) -> list[dict[str, Any]]:
    if result.quarantine_path is None:
        return []
    # split on \n only: a record may hold U+2028, which str.splitlines() would also split on
    text = Path(result.quarantine_path).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


def decompressed(path: Path) -> bytes | None:
    """The file's text, decompressed independently of the engine; None when it cannot be."""
    raw = path.read_bytes()
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        elif raw[:4] == b"\x28\xb5\x2f\xfd":
            raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    except Exception:
        return None
    return raw[len(UTF8_BOM) :] if raw.startswith(UTF8_BOM) else raw


def split_lines(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    return [p[:-1] if p.endswith(b"\r") else p for p in parts]


def reconstruct(row: dict[str, Any]) -> dict[str, Any]:
    rescued = row.pop("_rescued_data")
    row.pop("_source_file", None)
    row.pop("_source_line", None)
    return deep_merge(row, json.loads(rescued)) if rescued else row


@pytest.mark.parametrize("path", ALL_FILES, ids=[str(p.relative_to(CORPORA)) for p in ALL_FILES])
def test_every_corpus_file_is_accounted_for_line_by_line(path: Path, tmp_path: Path) -> None:
    local = tmp_path / path.name
    shutil.copy(path, local)
    result = convert([local], tmp_path)
    ledger = result.ledgers["0"]
    assert ledger.balanced, ledger
    rows = read_rows(result)
    bad = read_quarantine(result)
    assert len(rows) == ledger.rows_written == result.rows_written
    assert len(bad) == ledger.rows_quarantined
    text = decompressed(local)
    if ledger.rejection is not None:
        assert ledger.lines == 0 and not rows and not bad
        return
    assert text is not None
    lines = split_lines(text)
    assert ledger.lines == len(lines)
    blank = {i for i, line in enumerate(lines, 1) if not line.strip()}
    written = [row["_source_line"] for row in rows]
    quarantined = [record["line"] for record in bad]
    # every line exactly once: a blank, a row, or a quarantine record
    assert sorted([*blank, *written, *quarantined]) == list(range(1, len(lines) + 1))
    for record in bad:
        assert record["source"] == str(local) and record["reason"]
        raw = record["raw"].encode() if "raw_encoding" not in record else None
        if raw is not None and not record.get("raw_truncated"):
            assert raw == lines[record["line"] - 1]
    if ledger.rows_written:
        assert ledger.outputs == tuple(o.path for o in result.outputs)


@pytest.mark.parametrize("name", DRIFT)
def test_drifting_types_lose_nothing(name: str, tmp_path: Path) -> None:
    local = tmp_path / Path(name).name
    shutil.copy(CORPORA / name, local)
    result = convert([local], tmp_path)
    rows = read_rows(result)
    text = decompressed(local)
    assert text is not None
    originals = {}
    for number, line in enumerate(split_lines(text), 1):
        if line.strip():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                originals[number] = value
    assert len(rows) == len(originals)
    for row in rows:
        number = row["_source_line"]
        assert normalise(reconstruct(row)) == normalise(originals[number]), number


def test_drift_is_rescued_and_counted(tmp_path: Path) -> None:
    local = tmp_path / "inconsistent_schemas.ndjson"
    shutil.copy(CORPORA / "duckdb-json/data/json/inconsistent_schemas.ndjson", local)
    result = convert([local], tmp_path)
    rows = read_rows(result)
    rescued = [row["_rescued_data"] for row in rows if row["_rescued_data"]]
    assert rescued and result.values_rescued >= len(rescued)
    assert "id" in json.loads(result.schema_json)["fields"][0]["name"]


def test_many_corpus_files_in_one_manifest(tmp_path: Path) -> None:
    folder = CORPORA / "duckdb-json" / "data" / "json"
    paths = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            local = tmp_path / "in" / path.relative_to(folder)
            local.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, local)
            paths.append(local)
    result = convert(paths, tmp_path)
    assert all(ledger.balanced for ledger in result.ledgers.values())
    rows = read_rows(result)
    assert len(rows) == sum(ledger.rows_written for ledger in result.ledgers.values())
    per_file: dict[str, int] = {}
    for row in rows:
        per_file[row["_source_file"]] = per_file.get(row["_source_file"], 0) + 1
    for index, path in enumerate(paths):
        assert per_file.get(str(path), 0) == result.ledgers[str(index)].rows_written
