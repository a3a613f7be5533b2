"""A stretch of pending lines screened as its triage says and handed to a parse thread (``flush``).

When a part group's pending pieces make a stretch, ``flush`` joins them and triages the buffer
(``lines.triage``): a stretch that needs no look goes to the native reader as it is, one screened
whole by simdjson goes as well, and any other is screened line by line (``lines.screen``), its bad
lines quarantined and blank ones counted, its rows handed on as runs (``stretches.line_runs``).
After a stretch that needed the line-by-line look the next one gets it at once, until one is clean.
The first stretch of a file group also teaches the types declared to the reader (``native``).
It is apart from the reading because it works per stretch, never per file: what is read and how
it is cut (``reading``) does not change how a stretch is screened.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..engine import ConversionJob
from ..lines import Triage, screen, triage
from .native import learn_declared
from .part_groups import submit
from .run_state import PartGroup, Piece, Run
from .stretches import line_runs, parse_buffer, parse_runs, with_buffers


def flush(group: PartGroup, pool: ThreadPoolExecutor, run: Run, job: ConversionJob) -> None:
    """Screen the pending pieces as their triage says and hand their rows to a parse thread."""
    pieces, group.pending, group.pending_bytes = group.pending, [], 0
    if not pieces:
        return
    buffer = pieces[0].data if len(pieces) == 1 else b"".join(p.data for p in pieces)
    lines = sum(p.lines for p in pieces)
    max_line = job.options.max_line_bytes
    verdict = triage(buffer, lines, max_line_bytes=max_line, parser=run.simdjson_parser) if run.fast else None
    if verdict in (Triage.NATIVE, Triage.SCREENED):
        base = group.provenance.rows
        for piece in pieces:
            group.provenance.add_lines(piece.file, piece.first_line, piece.lines)
        _sample(run, buffer)
        screened = verdict is not Triage.NATIVE
        args = (buffer, lines, base, run.declared, run.block, screened)
        submit(group, pool, run, parse_buffer, *args)
        return
    runs = _screen_lines(group, pieces, run, max_line)
    if runs:
        # each run of rows becomes one buffer here: joined on a parse thread it measured slower (the
        # join holds the GIL against this thread's screening, and the parse threads are the busy ones)
        payloads = with_buffers(runs)
        _sample(run, next((payload for exact, payload, _ in payloads if not exact), b""))
        submit(group, pool, run, parse_runs, payloads, run.declared, run.block)


def _sample(run: Run, buffer: bytes) -> None:
    """Learn the types to declare to the reader from the manifest's first rows (once)."""
    if not run.sampled:
        run.declared = learn_declared(buffer, run.schemas[0], run.block, run.schemas[1])
        run.sampled = True


def _screen_lines(
    group: PartGroup, pieces: list[Piece], run: Run, max_line: int
) -> list[tuple[bool, list[bytes], range]]:
    """The slow path: screen each piece line by line; the runs of rows and exact lines, in line order."""
    clean = True
    runs: list[tuple[bool, list[bytes], range]] = []
    for piece in pieces:
        tally = run.files[piece.file]
        screened = screen(
            piece.data, start_offset=piece.start_offset, max_line_bytes=max_line, first_line=piece.first_line
        )
        tally.blank += screened.blank
        tally.quarantined += len(screened.bad)
        run.bad.extend(bad.record(tally.uri) for bad in screened.bad)
        for exact, texts, lines, offsets in line_runs(screened):
            start = group.provenance.rows
            group.provenance.add_listed(piece.file, lines, offsets)
            if runs and not exact and not runs[-1][0]:  # rows of consecutive pieces: one native parse
                runs[-1][1].extend(texts)
                runs[-1] = (False, runs[-1][1], range(runs[-1][2].start, group.provenance.rows))
            else:
                runs.append((exact, texts, range(start, group.provenance.rows)))
        clean = clean and not (screened.bad or screened.exact or screened.blank)
    run.fast = clean
    return runs
