"""The Spark engine and the Arrow engine give the same lake for the same manifest, value by value.

Held data sets, generated here: clean events, events with 1 % bad lines, events whose schema drifts
(new columns and nested fields, a type changing its mind, misfits rescued); each over files of many
sizes (some gzip) cut into several file groups and parts; and the third-party corpora as one manifest.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from ndjson2parquet.config.settings import ConversionOptions
from tests.integration.spark.parity import assert_same, both, manifest

FILES, LINES = 14, 700


def event(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "id": n,
        "kind": rng.choice(["click", "view", "buy"]),
        "at": f"2026-11-25T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z",
        "amount": round(rng.random() * 100, 2),
        "user": {
            "name": f"u{rng.randrange(500)}",
            "age": rng.randrange(18, 90),
            "tags": ["a", "b"][: rng.randrange(3)],
        },
        "ok": rng.random() < 0.5,
        "note": None if rng.random() < 0.3 else "x" * rng.randrange(40),
    }


def drifted(rng: random.Random, n: int, file: int) -> dict[str, Any]:
    record = event(rng, n)
    if file >= 4:
        record["region"] = rng.choice(["eu", "us"])  # a new column
    if file >= 7:
        record["user"]["plan"] = {"tier": rng.randrange(3)}  # a new nested field
    if file >= 9 and n % 5 == 0:
        record["amount"] = "n/a"  # a misfit: rescued
    if file == 11:
        record["late"] = [1, 2.5] if n % 2 else []  # a list column appearing late, mixed numbers
    if n % 97 == 0:
        record["Date"] = "2020-01-01"  # a reserved name: kept in _rescued_data
    return record


BAD = [b"{broken", b'{"id": 1, "v": NaN}', b"[1, 2]", b'{"a": 1}{"b": 2}', b"   ", b"", b"\x00\x01", b'"text"']


def write(root: Path, shape: str, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    n = 0
    for file in range(FILES):
        lines = []
        for _ in range(rng.randrange(LINES // 3, LINES)):
            n += 1
            if shape == "bad" and rng.random() < 0.01:
                lines.append(rng.choice(BAD))
                continue
            record = drifted(rng, n, file) if shape == "drift" else event(rng, n)
            lines.append(orjson.dumps(record))
        data = b"\n".join(lines) + (b"\n" if file % 3 else b"")  # some without a final newline
        gzipped = file % 4 == 1
        path = root / "landing" / f"{shape}-{file:02d}.ndjson{'.gz' if gzipped else ''}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data) if gzipped else data)
        paths.append(path)
    return paths


@pytest.mark.parametrize("shape", ["clean", "bad", "drift"])
def test_spark_engine_gives_the_arrow_engines_lake_value_by_value(tmp_path: Path, shape: str) -> None:
    files = manifest(write(tmp_path, shape))
    arrow, spark = both(files, tmp_path, ConversionOptions(target_file_bytes=150_000, lineage=shape == "drift"))
    assert len(arrow["parts"]) >= 3  # several file groups, several parts
    if shape == "bad":
        assert arrow["quarantine"]
    assert_same(arrow, spark)


def test_strict_mode_drift_gives_the_same_lake_on_both_engines(tmp_path: Path) -> None:
    files = manifest(write(tmp_path, "drift"))
    arrow, spark = both(files, tmp_path, ConversionOptions(target_file_bytes=150_000, strict=True))
    assert any("strict mode" in record["reason"] for record in arrow["quarantine"])
    assert_same(arrow, spark)


def test_a_part_quarantined_whole_in_strict_mode_shifts_the_later_names_alike(tmp_path: Path) -> None:
    """A file group whose every row is a misfit writes no part: the later parts are numbered without it."""
    landing = tmp_path / "landing"
    landing.mkdir()
    groups = [[{"id": i} for i in range(50)], [{"id": "x"} for _ in range(50)], [{"id": i} for i in range(50)]]
    paths = []
    for index, records in enumerate(groups):
        path = landing / f"g{index}.ndjson"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        paths.append(path)
    # each file (about 500 bytes) a file group of its own, each one part but the middle one's all quarantined
    arrow, spark = both(manifest(paths), tmp_path, ConversionOptions(target_file_bytes=600, strict=True))
    assert arrow["names"] == ["part-m-parity-0.parquet", "part-m-parity-1.parquet"]
    assert len(arrow["quarantine"]) == 50
    assert_same(arrow, spark)


def test_the_corpora_give_the_same_lake_on_both_engines(tmp_path: Path, corpora: Path) -> None:
    suffixes = (".json", ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz", ".jsonl.gz", ".ndjson.zst", ".json.zst")
    paths = sorted(p for p in corpora.rglob("*") if p.is_file() and p.name.endswith(suffixes))
    assert len(paths) > 50
    arrow, spark = both(manifest(paths), tmp_path, ConversionOptions(target_file_bytes=2 * 1024 * 1024))
    assert arrow["quarantine"] and len(arrow["parts"]) >= 3
    assert_same(arrow, spark)
