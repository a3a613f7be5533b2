"""Progress for people: a live bar on a terminal, a plain line every few seconds otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..workflow.pipeline import Progress as PipelineProgress

log = logging.getLogger(__name__)

PLAIN_EVERY_S = 10.0


@contextmanager
def bar(enabled: bool = True) -> Iterator[Callable[[PipelineProgress], None]]:
    """A progress callback for Pipeline.run."""
    if enabled and sys.stderr.isatty():
        with Progress(
            TextColumn("converting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files  {task.fields[mb]:.0f} MB  {task.fields[rows]:,} rows  {task.fields[rate]:,.0f} rows/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=True,
        ) as live:
            task = live.add_task("run", total=None, mb=0.0, rows=0, rate=0.0)
            began = time.monotonic()

            def update(p: PipelineProgress) -> None:
                elapsed = max(time.monotonic() - began, 1e-6)
                live.update(
                    task,
                    total=p.files_total or None,
                    completed=p.files_done,
                    mb=p.bytes_done / 1e6,
                    rows=p.rows_written,
                    rate=p.rows_written / elapsed,
                )

            yield update
        return
    last = [time.monotonic()]

    def plain(p: PipelineProgress) -> None:
        if time.monotonic() - last[0] >= PLAIN_EVERY_S:
            last[0] = time.monotonic()
            log.info(
                "progress",
                extra={
                    "files": f"{p.files_done}/{p.files_total}",
                    "rows": p.rows_written,
                    "mb_in": round(p.bytes_done / 1e6, 1),
                },
            )

    yield plain
