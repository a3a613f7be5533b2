"""The Arrow engine's part groups while they fill: starting and ending one, queueing its parses, letting go.

A part group (``run_state.PartGroup``) is what is bound for one output part. This module holds its
life during the read: it is started (and told to the early writer), its stretches' parses are
queued on the parse threads with at most ``IN_FLIGHT`` ahead (memory stays bounded whatever the
input), it is ended when its part closes, and past ``KEEP_BYTES`` the parsed tables of finished
groups are let go (``let_go``). It is apart from the reading and the screening because it is the
one place that bounds the memory of a conversion: both call it, neither owns it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from .run_state import PartGroup, Run
from .stretches import Chunk

IN_FLIGHT = 3  # stretches screened ahead of the parse threads at most (bounds memory)
KEEP_BYTES = 256 * 1024 * 1024  # parsed tables of finished parts kept, past this let go (written early already)


def start_group(run: Run) -> PartGroup:
    """A fresh part group, told to the early writer (if any)."""
    group = PartGroup()
    if run.early is not None:
        run.early.start_group(group.provenance)
    return group


def end_group(run: Run, groups: list[PartGroup], group: PartGroup) -> None:
    """Close ``group``'s part: it joins the finished ``groups``, and finished tables may be let go."""
    groups.append(group)
    if run.early is not None:
        run.early.end_group()
    if run.early is not None or (run.slice is not None and run.slice.survey):
        let_go(run, groups)  # a survey needs only the summaries of a finished part's tables


def submit(group: PartGroup, pool: ThreadPoolExecutor, run: Run, work: Any, *args: Any) -> None:
    """Queue a parse, first waiting while too many are ahead (memory stays bounded whatever the input)."""
    while len(run.in_flight) >= IN_FLIGHT:
        run.in_flight.popleft().exception()  # waits; its exception, if any, is raised where results are read
    future = pool.submit(work, *args)
    run.in_flight.append(future)
    group.parses.append(future)
    if run.early is not None:
        run.early.parse(future)
    if run.early is not None or (run.slice is not None and run.slice.survey):
        let_go(run, run.finished)


def let_go(run: Run, groups: list[PartGroup]) -> None:
    """Past ``KEEP_BYTES`` of parsed tables of finished parts, let go of the oldest (the early writer has them).

    Only what publishing needs is kept of them (each chunk's schema and non-null counts, its rejected
    rows); should the early parts turn out not to be of the final columns, the manifest is converted
    again (``run_state.ConvertAgain``). Memory then stays a few parts' tables, however big the manifest.
    """
    if not run.may_let_go:
        return
    kept = [g for g in groups if g.seen is None and g.parses]
    for group in kept:
        if group.table_bytes < 0 and all(f.done() and not f.exception() for f in group.parses):
            group.table_bytes = sum(chunk.table.nbytes for f in group.parses for chunk in f.result())
    total = sum(max(g.table_bytes, 0) for g in kept)
    for group in kept:
        if total <= KEEP_BYTES:
            break
        if group.table_bytes < 0:
            continue  # still being parsed
        chunks = [chunk for f in group.parses for chunk in f.result()]
        group.seen = [summary(chunk) for chunk in chunks]
        group.rows = sum(chunk.table.num_rows for chunk in chunks)
        group.rejected = [r for chunk in chunks for r in chunk.rejected]
        group.parses = []
        total -= group.table_bytes


def summary(chunk: Chunk) -> tuple[pa.Schema, dict[str, int]]:
    """What the schema decision needs of a parsed chunk: its schema and each column's non-null count."""
    return chunk.table.schema, _non_null_counts(chunk.table)


def _non_null_counts(table: pa.Table) -> dict[str, int]:
    pairs = zip(table.column_names, table.columns, strict=True)
    return {name: table.num_rows - column.null_count for name, column in pairs}
