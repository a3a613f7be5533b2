"""Where each row of an output part came from: (file index, line, byte offset), kept as runs, not per row.

Rows of a part are numbered in the order they were handed to the parser. A run is a stretch of rows
of one file: either consecutive lines (the fast path: only the first line is stored, offsets are
found again on demand, which only quarantining a row after its parse needs) or screened rows with
their line numbers and offsets listed (the line-by-line path).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class Run:
    """Rows ``start .. start + count - 1`` of a part, all from file ``file``."""

    start: int
    count: int
    file: int
    first_line: int = 0  # consecutive lines from here, when `lines` is None
    lines: Sequence[int] | None = None
    offsets: Sequence[int] | None = None


OffsetFinder = Callable[[int, int], int]  # (file index, line) -> byte offset of that line


@dataclass(slots=True)
class Provenance:
    """The runs of one part, in row order."""

    runs: list[Run] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    rows: int = 0

    def add_lines(self, file: int, first_line: int, count: int) -> None:
        """``count`` rows that are the consecutive lines of ``file`` from ``first_line``."""
        self._add(Run(self.rows, count, file, first_line=first_line))

    def add_listed(self, file: int, lines: Sequence[int], offsets: Sequence[int]) -> None:
        """Rows whose line numbers and offsets are known one by one."""
        self._add(Run(self.rows, len(lines), file, lines=lines, offsets=offsets))

    def _add(self, run: Run) -> None:
        if not run.count:
            return
        self.runs.append(run)
        self.starts.append(run.start)
        self.rows += run.count

    def source(self, row: int, find_offset: OffsetFinder) -> tuple[int, int, int]:
        """(file index, line, offset) of one row."""
        run = self.runs[bisect.bisect_right(self.starts, row) - 1]
        index = row - run.start
        if run.lines is None:
            line = run.first_line + index
            return run.file, line, find_offset(run.file, line)
        assert run.offsets is not None
        return run.file, run.lines[index], run.offsets[index]

    def sources(self, rows: Sequence[int]) -> tuple[list[int], list[int]]:
        """File index and line number of each of ``rows`` (whole runs at a time for a range)."""
        if not isinstance(rows, range) or rows.step != 1:
            pairs = [self._file_line(row) for row in rows]
            return [p[0] for p in pairs], [p[1] for p in pairs]
        files: list[int] = []
        lines: list[int] = []
        for run, lo, hi in self._overlaps(rows.start, rows.stop):
            files.extend([run.file] * (hi - lo))
            if run.lines is None:
                lines.extend(range(run.first_line + lo, run.first_line + hi))
            else:
                lines.extend(run.lines[lo:hi])
        return files, lines

    def files_of(self, rows: Sequence[int]) -> set[int]:
        """The file indices ``rows`` came from."""
        if isinstance(rows, range) and rows.step == 1:
            return {run.file for run, _, _ in self._overlaps(rows.start, rows.stop)}
        return {self._file_line(row)[0] for row in rows}

    def _file_line(self, row: int) -> tuple[int, int]:
        run = self.runs[bisect.bisect_right(self.starts, row) - 1]
        index = row - run.start
        return run.file, (run.first_line + index if run.lines is None else run.lines[index])

    def _overlaps(self, start: int, stop: int) -> list[tuple[Run, int, int]]:
        """The runs that rows ``start .. stop - 1`` cross, each with the slice of it they cover."""
        found = []
        index = max(bisect.bisect_right(self.starts, start) - 1, 0)
        while index < len(self.runs) and self.runs[index].start < stop:
            run = self.runs[index]
            lo, hi = max(start - run.start, 0), min(stop - run.start, run.count)
            if hi > lo:
                found.append((run, lo, hi))
            index += 1
        return found
