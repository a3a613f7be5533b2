"""The end of a conversion attempt: the schema decided, the parts published, the ledgers told; and removal.

Once every stretch is read, ``publish`` takes the parsed chunks of each part group: rows the reader
refused are quarantined (their byte offsets found by reading their files again, ``_OffsetFinder``),
the schema is decided over all chunks with the stored one (``limits.merge_within_limits``), and the
parts carry the manifest's columns (``schema.manifest_columns``). Parts written early are published
when they were of those columns (else ``run_state.ConvertAgain`` if their tables were let go), or
the parts are assembled and written now; leftovers of an earlier attempt are removed and the
quarantine file rewritten (a whole manifest only: a slice's caller does that, ``slices``). A survey
tells only what the schema decision needs. ``remove_outputs`` deletes all a manifest wrote
(compensation). It is apart from the reading because it starts where reading ends: it never
touches a file group, only what was parsed of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pyarrow as pa

from ...domain.records import Ledger
from ...storage.base import Storage
from .. import quarantine
from ..engine import ConversionJob, ConversionResult, OutputFile
from ..limits import ColumnLimits, merge_within_limits
from ..lines import bad_line
from ..naming import part_name
from ..schema import manifest_columns, schema_to_json
from .assemble import assemble_part
from .parquet_output import partition_location, remove_leftovers, write_part
from .part_groups import summary
from .reading import InputReader, decode_from
from .run_state import ConvertAgain, PartGroup, Run
from .slices import SliceOutcome
from .stretches import Chunk


def publish(
    job: ConversionJob,
    run: Run,
    groups: list[PartGroup],
    stored: pa.Schema | None,
    fixed: pa.Schema | None,
    bytes_in: int,
    files: InputReader,
) -> SliceOutcome:
    """Quarantine the rows the reader refused, decide the schema, publish the parts (or survey them)."""
    parsed = [[chunk for future in g.parses for chunk in future.result()] for g in groups]
    finder = _OffsetFinder(job, files)
    for group, chunks in zip(groups, parsed, strict=True):
        for row, reason, raw in [r for chunk in chunks for r in chunk.rejected] + group.rejected:
            _quarantine_row(group, row, reason, raw, run, finder)
    return _publish(job, run, groups, parsed, stored, fixed, bytes_in, finder, files.storage)


def remove_outputs(job: ConversionJob, storage: Storage) -> None:
    """Delete every part and quarantine file this manifest may have written (compensation)."""
    folder = partition_location(job.output_root, job.dataset, job.date)
    remove_leftovers(folder, job.manifest_id, keep=set(), storage=storage)
    where = quarantine.quarantine_path(job.quarantine_root, job.dataset, job.date, job.manifest_id)
    quarantine.remove(where, storage)


def _publish(
    job: ConversionJob,
    run: Run,
    groups: list[PartGroup],
    parsed: list[list[Chunk]],
    stored: pa.Schema | None,
    fixed: pa.Schema | None,
    bytes_in: int,
    finder: _OffsetFinder,
    storage: Storage,
) -> SliceOutcome:
    options = job.options
    plan = run.slice
    seen = [
        chunk_summary
        for group, chunks in zip(groups, parsed, strict=True)
        for chunk_summary in (group.seen if group.seen is not None else [summary(chunk) for chunk in chunks])
    ]
    final = merge_within_limits(
        stored,
        fixed,
        seen,
        ColumnLimits(options.max_columns, options.max_leaf_columns),
        widen=options.allow_widening,
    )
    columns = manifest_columns(final, seen)  # what this manifest's parts carry
    if plan is not None and plan.survey:
        return _surveyed(job, run, groups, parsed, seen, bytes_in)
    if plan is not None:  # a slice: the manifest's schema was decided over every slice's survey
        assert plan.final is not None and plan.columns is not None
        final, columns = plan.final, plan.columns
    offset = plan.part_offset if plan is not None else 0

    outputs: list[OutputFile] = []
    folder = partition_location(job.output_root, job.dataset, job.date)
    uris = [f.uri for f in run.files]
    early = run.early.publish(columns) if run.early is not None else None
    if early is None and any(group.seen is not None for group in groups):
        assert run.early is not None
        if run.early.failed is not None:
            raise run.early.failed  # the tables to write the parts again are gone: this attempt fails
        raise ConvertAgain(columns)
    for part in early or []:
        run.values_rescued += part.rescued
        if part.path is None:
            continue
        outputs.append(OutputFile(path=str(part.path), rows=part.rows, bytes=part.size))
        for file_index in sorted(part.files):
            run.files[file_index].outputs.append(str(part.path))
    late = list(zip(groups, parsed, strict=True)) if early is None else []  # written afterwards
    for group, chunks in late:

        def quarantine_row(row: int, reason: str, raw: bytes, group: PartGroup = group) -> None:
            _quarantine_row(group, row, reason, raw, run, finder)

        table, written_files, rescued = assemble_part(chunks, columns, options, group.provenance, uris, quarantine_row)
        run.values_rescued += rescued
        if table.num_rows == 0:
            continue
        name = part_name(job.manifest_id, offset + len(outputs))
        path = folder / name if isinstance(folder, Path) else Storage.join(folder, name)
        size = write_part(
            path,
            table,
            compression=options.compression,
            row_group_rows=options.row_group_rows,
            storage=storage,
        )
        outputs.append(OutputFile(path=str(path), rows=table.num_rows, bytes=size))
        for file_index in sorted(written_files):
            run.files[file_index].outputs.append(str(path))
    bad = _in_input_order(run)
    quarantine_written = None
    if plan is None:
        remove_leftovers(folder, job.manifest_id, keep={o.path for o in outputs}, storage=storage)
        qpath = quarantine.quarantine_path(job.quarantine_root, job.dataset, job.date, job.manifest_id)
        quarantine_written = quarantine.publish(qpath, bad, storage)
    result = ConversionResult(
        outputs=tuple(outputs),
        ledgers=_ledgers(job, run),
        schema_json=job.schema_json if stored is not None and final.equals(stored) else schema_to_json(final),
        rows_written=sum(o.rows for o in outputs),
        rows_quarantined=sum(t.quarantined for t in run.files),
        values_rescued=run.values_rescued,
        bytes_in=bytes_in,
        quarantine_path=quarantine_written,
    )
    return SliceOutcome(result, seen, len(outputs), bad if plan is not None else [])


def _surveyed(
    job: ConversionJob,
    run: Run,
    groups: list[PartGroup],
    parsed: list[list[Chunk]],
    seen: list[tuple[pa.Schema, dict[str, int]]],
    bytes_in: int,
) -> SliceOutcome:
    """A survey's outcome: the chunks' summaries and the parts a write would give outside strict mode."""
    pairs = zip(groups, parsed, strict=True)
    rows = [group.rows + sum(chunk.table.num_rows for chunk in chunks) for group, chunks in pairs]
    parts = sum(1 for count in rows if count)
    result = ConversionResult(
        outputs=(),
        ledgers=_ledgers(job, run),
        schema_json=None,
        rows_quarantined=sum(t.quarantined for t in run.files),
        bytes_in=bytes_in,
    )
    return SliceOutcome(result, seen, parts, [])


def _ledgers(job: ConversionJob, run: Run) -> dict[str, Ledger]:
    """Every input file's ledger, from what the run tallied."""
    ledgers = {}
    for input_file, tally in zip(job.files, run.files, strict=True):
        written = tally.lines - tally.blank - tally.quarantined
        ledgers[input_file.file_id] = Ledger(
            lines=tally.lines,
            blank=tally.blank,
            rows_written=written,
            rows_quarantined=tally.quarantined,
            outputs=tuple(tally.outputs),
            rejection=tally.rejection,
            start_offset=input_file.start_offset,
            end_offset=tally.end_offset,
            first_line=input_file.first_line,
            digest=tally.digest.result() if isinstance(tally.digest, Future) else tally.digest,
        )
    return ledgers


def _in_input_order(run: Run) -> list[dict[str, Any]]:
    """The quarantine records by file, then line: the same file whether the manifest converted at once or
    in slices (lines are screened while read, a refused stretch's lines when it is parsed)."""
    order = {}
    for index, tally in enumerate(run.files):
        order.setdefault(tally.uri, index)
    return sorted(run.bad, key=lambda record: (order.get(record["source"], -1), record["line"]))


def _quarantine_row(group: PartGroup, row: int, reason: str, raw: bytes, run: Run, finder: _OffsetFinder) -> None:
    file_index, line, offset = group.provenance.source(row, finder)
    run.files[file_index].quarantined += 1
    run.bad.append(bad_line(line, offset, reason, raw).record(run.files[file_index].uri))


class _OffsetFinder:
    """Byte offset of a line of a fast-path row, found by reading its file again (only to quarantine it).

    A streamed file is read again piece by piece, from where the last lookup left it when the line
    comes later (rows are quarantined in order, so a file is mostly read once).
    """

    def __init__(self, job: ConversionJob, files: InputReader) -> None:
        self._job = job
        self._files = files
        self._cached: tuple[int, bytes, int] | None = None
        # a streamed file's reading: (file index, its pieces, the piece at hand, its first line, its offset)
        self._streamed: tuple[int, Iterator[bytes], bytes, int, int] | None = None

    def __call__(self, file_index: int, line: int) -> int:
        input_file = self._job.files[file_index]
        if self._files.streams(input_file):
            return self._streamed_offset(file_index, line)
        if self._cached is None or self._cached[0] != file_index:
            decoded = decode_from(self._files.opener(input_file.uri), input_file)
            self._cached = (file_index, decoded.data, decoded.start_offset)
        _, data, start = self._cached
        return start + _line_start(data, line - input_file.first_line)

    def _streamed_offset(self, file_index: int, line: int) -> int:
        state = self._streamed
        if state is None or state[0] != file_index or line < state[3]:
            stream = self._files.stream(self._job.files[file_index])
            pieces = stream.pieces()
            piece = next(pieces, b"")
            state = (file_index, pieces, piece, self._job.files[file_index].first_line, stream.start_offset)
        _, pieces, piece, first, offset = state
        while line >= first + piece.count(b"\n") + (0 if piece.endswith(b"\n") else 1):
            first, offset = first + piece.count(b"\n"), offset + len(piece)
            piece = next(pieces)
        self._streamed = (file_index, pieces, piece, first, offset)
        return offset + _line_start(piece, line - first)


def _line_start(data: bytes, skip: int) -> int:
    """Where the line ``skip`` lines into ``data`` starts."""
    position = 0
    for _ in range(skip):
        position = data.find(b"\n", position) + 1
    return position
