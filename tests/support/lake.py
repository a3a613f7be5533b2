"""Read a generated landing zone and a converted lake back, to compare them record by record."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq


def input_event_ids(landing: Path) -> Counter[str]:
    """event_id of every record in a generated landing zone."""
    ids: Counter[str] = Counter()
    for path in landing.rglob("*.ndjson*"):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        ids.update(json.loads(line)["event_id"] for line in data.splitlines() if line.strip())
    return ids


def lake_parts(lake: Path) -> list[Path]:
    """Every published part, skipping our own `_` folders."""
    return sorted(p for p in lake.rglob("part-*.parquet") if not any(x.startswith("_") for x in p.parts))


def output_event_ids(lake: Path) -> Counter[str]:
    """event_id of every row in every published part."""
    ids: Counter[str] = Counter()
    for part in lake_parts(lake):
        ids.update(pq.read_table(part, columns=["event_id"]).column("event_id").to_pylist())
    return ids


def stray_files(lake: Path, committed: set[str]) -> list[Path]:
    """Parts no SUCCEEDED manifest lists, and temp files left behind."""
    strays = [p for p in lake_parts(lake) if str(p) not in committed]
    strays += [p for p in lake.rglob(".*") if p.is_file() and "_state" not in p.parts]
    return strays


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a child process."""
    result = subprocess.run([sys.executable, "-m", "ndjson2parquet", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"ndjson2parquet {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result
