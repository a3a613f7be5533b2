"""Progress for people: a live bar on a terminal, a plain line every few seconds otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..workflow.pipeline import Progress as PipelineProgress

if TYPE_CHECKING:
    from rich.progress import Progress

log = logging.getLogger(__name__)

PLAIN_EVERY_S = 10.0


class _ConsoleHandler(logging.Handler):
    """Log lines printed above the live bar instead of through it."""

    def __init__(self, live: Progress, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.live = live
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.live.console.print(self.format(record), markup=False, highlight=False, soft_wrap=True)


@contextmanager
def bar(enabled: bool = True) -> Iterator[Callable[[PipelineProgress], None]]:
    """A progress callback for Pipeline.run."""
    if enabled and sys.stderr.isatty():
        # imported here: off a terminal (CI, cron, a benchmark) the bar's library is never loaded
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            BarColumn(bar_width=16),
            MofNCompleteColumn(),
            TextColumn("files {task.fields[mb]:.0f} MB {task.fields[rows]:,} rows {task.fields[rate]:,.0f}/s ETA"),
            TimeRemainingColumn(),
            transient=True,
        ) as live:
            task = live.add_task("run", total=None, mb=0.0, rows=0, rate=0.0)
            package_logger = logging.getLogger("ndjson2parquet")
            saved = package_logger.handlers[:]
            package_logger.handlers = [_ConsoleHandler(live, saved[0].formatter if saved else None)]
            began = time.monotonic()

            def update(p: PipelineProgress) -> None:
                elapsed = max(time.monotonic() - began, 1e-6)
                live.update(
                    task,
                    total=p.files_total or None,
                    completed=min(p.files_done + p.files_reading, p.files_total or p.files_done + p.files_reading),
                    mb=(p.bytes_done + p.bytes_reading) / 1e6,
                    rows=p.rows_written,
                    rate=p.rows_written / elapsed,
                )

            try:
                yield update
            finally:
                package_logger.handlers = saved
        return
    last = [time.monotonic()]

    def plain(p: PipelineProgress) -> None:
        if time.monotonic() - last[0] >= PLAIN_EVERY_S:
            last[0] = time.monotonic()
            log.info(
                "progress",
                extra={
                    "files": f"{p.files_done}/{p.files_total}",
                    "files_read": p.files_done + p.files_reading,
                    "rows": p.rows_written,
                    "mb_in": round((p.bytes_done + p.bytes_reading) / 1e6, 1),
                },
            )

    yield plain
