"""Parsing one screened stretch on a worker thread: natively, halving on refusal, in Python at the end.

These functions touch no shared state (they run two at a time): what they reject is returned with
the chunk, and the engine quarantines it on its own thread, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from .lines import LineRejected, parse_exact
from .native import native_parse
from .rows import infer_fields, records_to_table, split_records

SLOW_STRETCH = 512  # a failing stretch this short is parsed in Python rather than halved again


@dataclass(slots=True)
class Chunk:
    """A parsed stretch: its table, its part rows, the overlays of rows with rescued values, its rejects."""

    table: pa.Table
    rows: Sequence[int]
    rescued: dict[int, dict[str, Any]] = field(default_factory=dict)
    rejected: list[tuple[int, str, bytes]] = field(default_factory=list)  # (part row, reason, raw)


def parse_buffer(buffer: bytes, rows: int, base: int, explicit: pa.Schema | None, block: int) -> list[Chunk]:
    """Parse ``rows`` screened lines (part rows ``base ..``); split into lines only when the native parse refuses."""
    table = native_parse(buffer, rows, explicit, block)
    if table is not None:
        return [Chunk(table, range(base, base + rows))]
    lines = buffer.split(b"\n")
    lines.pop()  # after the last terminator
    if b"\r" in buffer:
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    chunks: list[Chunk] = []
    _parse_lines(lines, base, 0, len(lines), explicit, block, chunks)
    return chunks


def _parse_lines(
    lines: list[bytes], base: int, lo: int, hi: int, explicit: pa.Schema | None, block: int, chunks: list[Chunk]
) -> None:
    stretch = lines[lo:hi]
    table = native_parse(b"\n".join(stretch) + b"\n", hi - lo, explicit, block) if stretch else pa.table({})
    if table is not None:
        chunks.append(Chunk(table, range(base + lo, base + hi)))
        return
    if hi - lo <= SLOW_STRETCH:
        chunks.append(exact_chunk(stretch, range(base + lo, base + hi)))
        return
    middle = (lo + hi) // 2
    _parse_lines(lines, base, lo, middle, explicit, block, chunks)
    _parse_lines(lines, base, middle, hi, explicit, block, chunks)


def exact_chunk(texts: list[bytes], rows: Sequence[int]) -> Chunk:
    """Parse lines one by one in Python (exact numbers, duplicate keys remembered); rejects are returned."""
    records: list[dict[str, Any]] = []
    kept: list[int] = []
    rejected: list[tuple[int, str, bytes]] = []
    for text, row in zip(texts, rows, strict=True):
        try:
            records.append(parse_exact(text))
            kept.append(row)
        except LineRejected as exc:
            rejected.append((row, str(exc), text))
    fields = infer_fields(records, [], [])
    split = split_records(records, fields)
    return Chunk(records_to_table(split.rows, fields), kept, split.rescued, rejected)
