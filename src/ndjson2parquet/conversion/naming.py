"""Where a manifest's outputs go in the lake: names every engine gives its parts.

``<output_root>/<dataset>/date=<date>/part-<manifest_id>-<n>.parquet``, n = 0, 1, 2... in input order:
the same manifest always gives the same names, so a retry overwrites its own parts.
"""

from __future__ import annotations

from pathlib import Path


def partition_dir(root: str, dataset: str, date: str) -> Path:
    """The Hive-style folder of one (dataset, date)."""
    return Path(root) / dataset / f"date={date}"


def part_name(manifest_id: str, index: int) -> str:
    """The deterministic file name of one part."""
    return f"part-{manifest_id}-{index}.parquet"
