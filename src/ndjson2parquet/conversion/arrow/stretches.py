"""Parsing one screened stretch on a worker thread: natively, halving on refusal, in Python at the end.

These functions touch no shared state (they run two at a time): what they reject is returned with
the chunk, and the engine quarantines it on its own thread, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..limits import ColumnLimits, within_limits
from ..lines import LineRejected, ScreenedFile, parse_exact, screen
from ..schema import TypeVote
from .native import Declared, native_parse
from .rows import infer_fields, records_to_table, split_records

SLOW_STRETCH = 512  # a failing stretch this short is parsed in Python rather than halved again
_DEPTH_ONLY = ColumnLimits(max_columns=2**31, max_leaf_columns=2**31)  # the dataset's limits come at the merge


@dataclass(slots=True)
class Chunk:
    """A parsed stretch: its table, its part rows, the overlays of rows with rescued values, its rejects,
    and the earlier values of duplicated keys (by row)."""

    table: pa.Table
    rows: Sequence[int]
    rescued: dict[int, dict[str, Any]] = field(default_factory=dict)
    rejected: list[tuple[int, str, bytes]] = field(default_factory=list)  # (part row, reason, raw)
    duplicates: dict[int, list[list[Any]]] = field(default_factory=dict)  # row -> [[path, value], ...]


def parse_buffer(
    buffer: bytes, rows: int, base: int, declared: Declared, block: int, screened: bool = True
) -> list[Chunk]:
    """Parse ``rows`` lines (part rows ``base ..``); split into lines only when the native parse refuses.

    An unscreened stretch (``Triage.NATIVE``) that the reader refuses is screened here, line by line:
    its bad lines come back as rejects of their rows, the rest is parsed as a screened stretch would be.
    """
    if not screened:
        table = native_parse(buffer, rows, declared, block)
        if table is not None:
            return [Chunk(table, range(base, base + rows))]
        return _screen_then_parse(buffer, base, declared, block)
    return _parse_screened(buffer, range(base, base + rows), declared, block)


def _parse_screened(buffer: bytes, ids: Sequence[int], declared: Declared, block: int) -> list[Chunk]:
    """Screened lines (part rows ``ids``) natively at once; split into lines only when the reader refuses."""
    table = native_parse(buffer, len(ids), declared, block)
    if table is not None:
        return [Chunk(table, ids)]
    lines = buffer.split(b"\n")
    lines.pop()  # after the last terminator
    if b"\r" in buffer:
        lines = [_without_cr(line) for line in lines]
    chunks: list[Chunk] = []
    _parse_lines(lines, ids, 0, len(lines), declared, block, chunks)
    return chunks


def _screen_then_parse(buffer: bytes, base: int, declared: Declared, block: int) -> list[Chunk]:
    """The reader refused an unscreened stretch: sort its lines, then parse the good ones in line order.

    No line of such a stretch is blank (each starts with ``{``), so line ``n`` is part row ``base + n - 1``.
    """
    screened = screen(buffer, start_offset=0, max_line_bytes=len(buffer))
    chunks: list[Chunk] = []
    if screened.bad:
        texts = buffer.split(b"\n")
        rejected = [(base + bad.line - 1, bad.reason, _without_cr(texts[bad.line - 1])) for bad in screened.bad]
        chunks.append(Chunk(pa.table({}), [], rejected=rejected))
    runs = [(exact, texts, [base + n - 1 for n in lines]) for exact, texts, lines, _ in line_runs(screened)]
    return chunks + parse_runs(with_buffers(runs), declared, block)


def line_runs(screened: ScreenedFile) -> list[tuple[bool, list[bytes], list[int], list[int]]]:
    """The rows and exact lines of a screened stretch in line order, in runs of one kind.

    Each run is (exact, texts, line numbers, offsets): the native reader takes the runs of rows, Python
    the (rare) runs of exact lines, and the output keeps the input's order.
    """
    if not screened.exact:
        return [(False, screened.rows, screened.row_lines, screened.row_offsets)] if screened.rows else []
    rows = zip(screened.row_lines, [False] * len(screened.rows), screened.row_offsets, screened.rows, strict=True)
    exact = ((line, True, offset, text) for line, offset, text in screened.exact)
    runs: list[tuple[bool, list[bytes], list[int], list[int]]] = []
    for line, is_exact, offset, text in sorted([*rows, *exact], key=lambda item: item[0]):
        if not runs or runs[-1][0] != is_exact:
            runs.append((is_exact, [], [], []))
        runs[-1][1].append(text)
        runs[-1][2].append(line)
        runs[-1][3].append(offset)
    return runs


def with_buffers(runs: Sequence[tuple[bool, list[bytes], Sequence[int]]]) -> list[tuple[bool, Any, Sequence[int]]]:
    """Each run of rows joined into one buffer for the native reader; runs of exact lines stay texts."""
    return [(exact, texts if exact else b"\n".join(texts) + b"\n", ids) for exact, texts, ids in runs]


def parse_runs(runs: Sequence[tuple[bool, Any, Sequence[int]]], declared: Declared, block: int) -> list[Chunk]:
    """Parse screened lines run by run, in order (``line_runs``): a run of rows is one buffer for the
    native reader (halved on refusal), a run of exact lines a list of texts for Python."""
    chunks: list[Chunk] = []
    for exact, payload, ids in runs:
        chunks += [exact_chunk(payload, ids)] if exact else _parse_screened(payload, ids, declared, block)
    return chunks


def _without_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line


def _parse_lines(
    lines: list[bytes],
    ids: Sequence[int],
    lo: int,
    hi: int,
    declared: Declared,
    block: int,
    chunks: list[Chunk],
) -> None:
    stretch = lines[lo:hi]
    table = native_parse(b"\n".join(stretch) + b"\n", hi - lo, declared, block) if stretch else pa.table({})
    if table is not None:
        chunks.append(Chunk(table, ids[lo:hi]))
        return
    if hi - lo <= SLOW_STRETCH:
        chunks.append(exact_chunk(stretch, ids[lo:hi]))
        return
    middle = (lo + hi) // 2
    _parse_lines(lines, ids, lo, middle, declared, block, chunks)
    _parse_lines(lines, ids, middle, hi, declared, block, chunks)


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
    # no deeper than a column may be (``limits``): what lies deeper goes to the overlays here, and pyarrow
    # never builds (at a cost of depth squared) the rows of a type the dataset would not take
    inferred = infer_fields(records)
    fields = within_limits(inferred.fields, {}, {}, _DEPTH_ONLY)
    split = split_records(records, fields)
    table = records_to_table(split.rows, fields, _within_depth(inferred.mixed))
    return Chunk(table, kept, split.rescued, rejected, split.duplicates)


def _within_depth(mixed: dict[str, list[TypeVote]]) -> dict[str, list[TypeVote]]:
    """The votes of mixed columns as deep as a column may be (the deeper part of a value is set aside anyway)."""
    limited = {}
    for name, typed in mixed.items():
        kept = [(f.type, n) for t, n in typed for f in within_limits([pa.field(name, t)], {}, {}, _DEPTH_ONLY)]
        if kept:
            limited[name] = kept
    return limited
