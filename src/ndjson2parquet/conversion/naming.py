"""Where a manifest's outputs go in the lake: names every engine gives its parts.

``<output_root>/<dataset>/date=<date>/part-<manifest_id>-<n>.parquet``, n = 0, 1, 2... in input order:
the same manifest always gives the same names, so a retry overwrites its own parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def partition_dir(root: str, dataset: str, date: str) -> Path:
    """The Hive-style folder of one (dataset, date)."""
    return Path(root) / dataset / f"date={date}"


def part_name(manifest_id: str, index: int) -> str:
    """The deterministic file name of one part."""
    return f"part-{manifest_id}-{index}.parquet"


def file_groups(sizes: Sequence[int], target_bytes: int) -> list[int]:
    """Where each group of whole files starts (indices of the manifest's files, by their stored sizes).

    A group takes files until the next would take it past ``target_bytes`` (a file bigger than that
    is a group of its own). A part never holds rows of two groups, and each group is converted as if
    it were alone: the engines' part boundaries (and so part names) can be planned from the
    manifest alone, and a distributed engine converts groups apart and names parts the same way.
    """
    starts: list[int] = []
    held = 0
    for index, size in enumerate(sizes):
        if not starts or (held and held + size > target_bytes):
            starts.append(index)
            held = 0
        held += size
    return starts
