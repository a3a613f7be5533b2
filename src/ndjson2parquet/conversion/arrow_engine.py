"""The in-process engine: NDJSON files in, Parquet parts, a quarantine file and per-file ledgers out.

How a manifest goes through (and why it stays fast)
    1. Each file is read and decompressed (``inputs``); one that cannot be read at all is rejected with
       its reason and the rest carry on.
    2. Every line is screened (``lines.screen``: one simdjson parse per line, no Python objects), so
       the native reader only ever sees lines holding exactly one valid JSON object. Bad lines go to
       the quarantine file; blank lines are counted.
    3. Screened lines of many files are joined into one buffer per output part (parts close past
       ``target_file_bytes`` of input) and parsed by ``pyarrow.json`` (multithreaded, large blocks),
       with string columns of the stored schema given explicitly so date-like strings stay strings.
    4. When that parse fails (a type drifting within the stretch, duplicate keys) or would lose
       something (an integer a double cannot hold), the stretch is halved and each half parsed again;
       a failing stretch of at most ``SLOW_STRETCH`` lines is parsed exactly in Python (``rows``).
    5. The schema is decided over all stretches of the manifest with the stored schema (``schema``),
       each stretch is brought to it (``conform``), misfits go to ``_rescued_data`` (or, in strict mode,
       their rows to quarantine), and each part is written under a temp name and renamed.
    6. Parts of an earlier attempt that this one did not write are deleted; the quarantine file is
       rewritten (or removed when there is nothing in it).
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from ..domain.errors import EngineError, InputError
from ..domain.records import Ledger
from . import quarantine
from .conform import conform_table
from .engine import ConversionJob, ConversionResult, Engine, OutputFile
from .inputs import Opener, open_input, read_local
from .lines import BadLine, LineRejected, parse_exact, screen
from .parquet_output import part_name, partition_dir, remove_leftovers, write_part
from .rescue import deep_merge, dumps_exact, merge_overlay
from .rows import count_rescued, infer_fields, records_to_table, split_records
from .schema import (
    RESCUED_COLUMN,
    SOURCE_FILE_COLUMN,
    SOURCE_LINE_COLUMN,
    load_schema_file,
    merge_schema,
    schema_from_json,
    schema_to_json,
    strings_only,
    timestamps_to_strings,
)

log = logging.getLogger(__name__)

SLOW_STRETCH = 512  # a failing stretch this short is parsed in Python rather than halved again
MIN_BLOCK = 16 * 1024 * 1024  # the native reader's block: large, so a few threads share big pieces
FLOAT_EXACT_INT = 2**53
SAMPLE_BYTES = 256 * 1024  # the sample parsed first to learn which fields look like timestamps
STRETCH_BYTES = 24 * 1024 * 1024  # screened lines handed to the parse thread at a time (overlaps the two)


@dataclass(slots=True)
class _FileTally:
    uri: str
    lines: int = 0
    blank: int = 0
    quarantined: int = 0
    rejection: str | None = None
    outputs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Chunk:
    """A parsed stretch: its table, the overlays of rows with rescued values, and its group rows."""

    table: pa.Table
    rows: Sequence[int]
    rescued: dict[int, dict[str, Any]] = field(default_factory=dict)
    values_rescued: int = 0


@dataclass(slots=True)
class _Group:
    """The rows bound for one output part, with where each came from (row i of the group)."""

    lines: list[bytes] = field(default_factory=list)  # rows for the native reader, not yet handed to a parse
    submitted: int = 0  # native rows already handed to a parse (numbered before `lines`)
    pending_bytes: int = 0
    parses: list[Future[list[_Chunk]]] = field(default_factory=list)
    row_file: array = field(default_factory=lambda: array("i"))  # type: ignore[type-arg]
    row_line: list[int] = field(default_factory=list)
    row_offset: list[int] = field(default_factory=list)
    exact: list[bytes] = field(default_factory=list)  # rows for Python, numbered after `lines`
    exact_file: list[int] = field(default_factory=list)
    exact_line: list[int] = field(default_factory=list)
    exact_offset: list[int] = field(default_factory=list)
    input_bytes: int = 0
    longest: int = 0

    def source(self, row: int) -> tuple[int, int, int]:
        """(file index, line, offset) of a group row."""
        if row < len(self.row_file):
            return self.row_file[row], self.row_line[row], self.row_offset[row]
        row -= len(self.row_file)
        return self.exact_file[row], self.exact_line[row], self.exact_offset[row]


@dataclass(slots=True)
class _Run:
    """What one conversion accumulates."""

    files: list[_FileTally]
    explicit: pa.Schema | None
    block: int
    bad: list[dict[str, Any]] = field(default_factory=list)
    values_rescued: int = 0
    sampled: bool = False


class ArrowEngine(Engine):
    """Converts a manifest in-process with PyArrow's native JSON reader and Parquet writer."""

    name = "arrow"

    def __init__(self, opener: Opener = read_local) -> None:
        self._open = opener

    # --- the port ---------------------------------------------------------------------------

    def convert(self, job: ConversionJob) -> ConversionResult:
        """Convert, publish atomically, and remove any leftover part of an earlier attempt."""
        try:
            return self._convert(job)
        except (EngineError, InputError):
            raise
        except OSError as exc:
            raise EngineError(f"manifest {job.manifest_id}: I/O failed: {exc}", transient=True) from exc
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise EngineError(f"manifest {job.manifest_id}: conversion failed: {exc}") from exc

    def remove_outputs(self, job: ConversionJob) -> None:
        """Delete every part and quarantine file this manifest may have written (compensation)."""
        folder = partition_dir(job.output_root, job.dataset, job.date)
        remove_leftovers(folder, job.manifest_id, keep=set())
        quarantine.remove(quarantine.quarantine_path(job.quarantine_root, job.dataset, job.date, job.manifest_id))

    # --- the work -----------------------------------------------------------------------------

    def _convert(self, job: ConversionJob) -> ConversionResult:
        options = job.options
        stored = schema_from_json(job.schema_json)
        fixed = load_schema_file(options.schema_file) if options.schema_file else None
        explicit = _explicit_strings(fixed, stored)
        block = max(MIN_BLOCK, options.max_line_bytes + 2)
        run = _Run(files=[_FileTally(uri=f.uri) for f in job.files], explicit=explicit, block=block)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="n2p-parse") as pool:
            groups, bytes_in = self._read_and_parse(job, run, pool)
        parsed = [[chunk for future in g.parses for chunk in future.result()] for g in groups]
        return self._publish(job, run, groups, parsed, stored, fixed, bytes_in)

    def _read_and_parse(self, job: ConversionJob, run: _Run, pool: ThreadPoolExecutor) -> tuple[list[_Group], int]:
        """Screen file after file while earlier stretches parse natively on another thread."""
        options = job.options
        groups: list[_Group] = []
        group = _Group()
        bytes_in = 0
        for index, input_file in enumerate(job.files):
            tally = run.files[index]
            try:
                decoded = open_input(input_file.uri, self._open)
            except InputError as exc:
                tally.rejection = str(exc)
                log.warning("input rejected", extra={"uri": input_file.uri, "reason": str(exc)})
                continue
            bytes_in += input_file.size
            screened = screen(decoded.data, start_offset=decoded.start_offset, max_line_bytes=options.max_line_bytes)
            del decoded
            tally.lines, tally.blank, tally.quarantined = screened.lines, screened.blank, len(screened.bad)
            run.bad.extend(bad.record(input_file.uri) for bad in screened.bad)
            group.exact.extend(text for _, _, text in screened.exact)
            group.exact_file.extend([index] * len(screened.exact))
            group.exact_line.extend(line for line, _, _ in screened.exact)
            group.exact_offset.extend(offset for _, offset, _ in screened.exact)
            exact_bytes = sum(len(t) for _, _, t in screened.exact)
            group.input_bytes += exact_bytes
            rows = screened.rows
            row_bytes = sum(map(len, rows))
            average = row_bytes / len(rows) if rows else 1.0
            start = 0
            while start < len(rows):
                # a file larger than a part is split between parts (at a line, by its average line size)
                room = max(options.target_file_bytes - group.input_bytes, 1)
                stop = min(len(rows), start + max(1, int(room / average)))
                added = sum(map(len, rows[start:stop])) if stop - start < len(rows) else row_bytes
                _add_rows(
                    group, index, rows[start:stop], screened.row_lines[start:stop], screened.row_offsets[start:stop]
                )
                group.input_bytes += added
                group.pending_bytes += added
                start = stop
                if group.input_bytes >= options.target_file_bytes:
                    self._submit(group, pool, run, last=True)
                    groups.append(group)
                    group = _Group()
                elif group.pending_bytes >= STRETCH_BYTES:
                    self._submit(group, pool, run, last=False)
            del screened, rows
        self._submit(group, pool, run, last=True)
        groups.append(group)
        return groups, bytes_in

    def _submit(self, group: _Group, pool: ThreadPoolExecutor, run: _Run, *, last: bool) -> None:
        """Hand the group's pending lines to the parse thread (and, at its end, its exact lines)."""
        if group.lines:
            lines, base = group.lines, group.submitted
            if not run.sampled:
                run.explicit = _learn_string_fields(lines, run.explicit, run.block)
                run.sampled = True
            group.parses.append(pool.submit(self._parse_lines, group, lines, base, run))
            group.submitted += len(lines)
            group.lines, group.pending_bytes = [], 0
        if last and group.exact:
            base = len(group.row_file)
            rows = range(base, base + len(group.exact))
            group.parses.append(pool.submit(lambda: [self._exact_chunk(group, group.exact, rows, run)]))

    def _publish(
        self,
        job: ConversionJob,
        run: _Run,
        groups: list[_Group],
        parsed: list[list[_Chunk]],
        stored: pa.Schema | None,
        fixed: pa.Schema | None,
        bytes_in: int,
    ) -> ConversionResult:
        options = job.options
        seen = [(chunk.table.schema, _non_null_counts(chunk.table)) for chunks in parsed for chunk in chunks]
        final = merge_schema(stored, fixed, seen)

        outputs: list[OutputFile] = []
        folder = partition_dir(job.output_root, job.dataset, job.date)
        for group_rows, chunks in zip(groups, parsed, strict=True):
            table, written_files = self._assemble(group_rows, chunks, final, job, run)
            if table.num_rows == 0:
                continue
            path = folder / part_name(job.manifest_id, len(outputs))
            size = write_part(path, table, compression=options.compression, row_group_rows=options.row_group_rows)
            outputs.append(OutputFile(path=str(path), rows=table.num_rows, bytes=size))
            for file_index in sorted(written_files):
                run.files[file_index].outputs.append(str(path))
        remove_leftovers(folder, job.manifest_id, keep={Path(o.path) for o in outputs})
        qpath = quarantine.quarantine_path(job.quarantine_root, job.dataset, job.date, job.manifest_id)
        quarantine_written = quarantine.publish(qpath, run.bad)

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
            )
        return ConversionResult(
            outputs=tuple(outputs),
            ledgers=ledgers,
            schema_json=schema_to_json(final),
            rows_written=sum(o.rows for o in outputs),
            rows_quarantined=sum(t.quarantined for t in run.files),
            values_rescued=run.values_rescued,
            bytes_in=bytes_in,
            quarantine_path=quarantine_written,
        )

    # --- parsing ----------------------------------------------------------------------------

    def _parse_lines(self, group: _Group, lines: list[bytes], base: int, run: _Run) -> list[_Chunk]:
        chunks: list[_Chunk] = []
        self._parse_stretch(group, lines, base, 0, len(lines), run, chunks)
        return chunks

    def _parse_stretch(
        self, group: _Group, lines: list[bytes], base: int, lo: int, hi: int, run: _Run, chunks: list[_Chunk]
    ) -> None:
        table = _native_parse(lines[lo:hi], run.explicit, run.block)
        if table is not None:
            chunks.append(_Chunk(table, range(base + lo, base + hi)))
            return
        if hi - lo <= SLOW_STRETCH:
            chunks.append(self._exact_chunk(group, lines[lo:hi], range(base + lo, base + hi), run))
            return
        middle = (lo + hi) // 2
        self._parse_stretch(group, lines, base, lo, middle, run, chunks)
        self._parse_stretch(group, lines, base, middle, hi, run, chunks)

    def _exact_chunk(self, group: _Group, texts: list[bytes], rows: range, run: _Run) -> _Chunk:
        records: list[dict[str, Any]] = []
        kept: list[int] = []
        for text, row in zip(texts, rows, strict=True):
            try:
                records.append(parse_exact(text))
                kept.append(row)
            except LineRejected as exc:
                self._quarantine_row(group, row, str(exc), text, run)
        fields = infer_fields(records, [], [])
        split = split_records(records, fields)
        return _Chunk(records_to_table(split.rows, fields), kept, split.rescued)

    def _quarantine_row(self, group: _Group, row: int, reason: str, raw: bytes, run: _Run) -> None:
        file_index, line, offset = group.source(row)
        run.files[file_index].quarantined += 1
        run.bad.append(BadLine(line, offset, reason, raw).record(run.files[file_index].uri))

    # --- assembling a part --------------------------------------------------------------------

    def _assemble(
        self, group: _Group, chunks: list[_Chunk], final: pa.Schema, job: ConversionJob, run: _Run
    ) -> tuple[pa.Table, set[int]]:
        tables = []
        for chunk in chunks:
            arrays, overlays = conform_table(chunk.table, final)
            for row, overlay in overlays.items():
                merge_overlay(chunk.rescued.setdefault(row, {}), overlay)
            rows = chunk.rows
            keep_mask = None
            if job.options.strict and chunk.rescued:
                keep_mask = self._strict_filter(group, chunk, final, arrays, run)
                rows = [r for r, keep in zip(chunk.rows, keep_mask, strict=True) if keep]
            run.values_rescued += sum(count_rescued(overlay) for overlay in chunk.rescued.values())
            rescued = _rescued_array(chunk.table.num_rows, chunk.rescued)
            columns = [*arrays, rescued]
            names = [*final.names, RESCUED_COLUMN]
            if job.options.lineage:
                files, lines = _sources(group, chunk.rows)
                uris = pa.array([f.uri for f in run.files], pa.string())
                columns += [uris.take(pa.array(files, pa.int32())), pa.array(lines, pa.int64())]
                names += [SOURCE_FILE_COLUMN, SOURCE_LINE_COLUMN]
            table = pa.Table.from_arrays(columns, names=names)
            if keep_mask is not None:
                table = table.filter(pa.array(keep_mask, pa.bool_()))
            tables.append((table, rows))
        schema = _output_schema(final, job.options.lineage)
        if not tables:
            return schema.empty_table(), set()
        table = pa.concat_tables([t for t, _ in tables])  # every chunk already has the final types
        written_files: set[int] = set()
        for _, rows in tables:
            written_files.update(_sources(group, rows)[0])
        return table, written_files

    def _strict_filter(
        self, group: _Group, chunk: _Chunk, final: pa.Schema, arrays: list[Any], run: _Run
    ) -> list[bool]:
        keep = [True] * chunk.table.num_rows
        if not chunk.rescued:
            return keep
        wanted = sorted(chunk.rescued)
        partial = pa.Table.from_arrays(arrays, names=final.names).take(pa.array(wanted, pa.int64())).to_pylist()
        for row, values in zip(wanted, partial, strict=True):
            keep[row] = False
            overlay = chunk.rescued[row]
            record = deep_merge({k: v for k, v in values.items() if v is not None}, overlay)
            fields = ", ".join(sorted(k for k in overlay if not k.startswith("_duplicate")))
            reason = f"strict mode: value does not fit its column ({fields or 'duplicate keys'})"
            self._quarantine_row(group, chunk.rows[row], reason, dumps_exact(record).encode(), run)
        chunk.rescued = {}
        return keep


def _add_rows(group: _Group, index: int, rows: list[bytes], lines: list[int], offsets: list[int]) -> None:
    group.lines.extend(rows)
    group.row_file.extend(array("i", [index]) * len(rows))
    group.row_line.extend(lines)
    group.row_offset.extend(offsets)


def _sources(group: _Group, rows: Sequence[int]) -> tuple[Sequence[int], Sequence[int]]:
    """File index and line number of each of ``rows`` (slices, not a Python call per row, for a stretch)."""
    if isinstance(rows, range) and rows.stop <= len(group.row_file) and rows.step == 1:
        return group.row_file[rows.start : rows.stop], group.row_line[rows.start : rows.stop]
    sources = [group.source(row) for row in rows]
    return [s[0] for s in sources], [s[1] for s in sources]


def _explicit_strings(fixed: pa.Schema | None, stored: pa.Schema | None) -> pa.Schema | None:
    fields: dict[str, pa.Field] = {}
    for schema in (fixed, stored):
        for f in schema or []:
            if f.name.lower() in {name.lower() for name in fields}:
                continue
            only = strings_only(f.type)
            if only is not None:
                fields[f.name] = pa.field(f.name, only)
    return pa.schema(list(fields.values())) if fields else None


def _learn_string_fields(lines: list[bytes], explicit: pa.Schema | None, block: int) -> pa.Schema | None:
    """Parse a small sample first: date-like string fields it reveals are declared strings for the whole parse.

    Without this, a manifest of a dataset with no stored schema yet would be parsed twice (once to
    find that the reader guessed timestamps, once to undo the guess).
    """
    taken, size = 0, 0
    while taken < len(lines) and size < SAMPLE_BYTES:
        size += len(lines[taken]) + 1
        taken += 1
    if taken == len(lines):
        return explicit  # the sample would be the whole stretch: nothing to save
    sample = _read(b"\n".join(lines[:taken]) + b"\n", explicit, block)
    if sample is None:
        return explicit
    forced = [(f.name, timestamps_to_strings(f.type)) for f in sample.schema]
    forced_fields = [pa.field(name, t) for name, t in forced if t is not None]
    if not forced_fields:
        return explicit
    return _with_forced(explicit, forced_fields)


def _with_forced(explicit: pa.Schema | None, forced: list[pa.Field]) -> pa.Schema:
    """The explicit schema plus fields forced to string (struct children merged, not replaced)."""
    merged = {f.name: f.type for f in (explicit or [])}
    for f in forced:
        merged[f.name] = _union_explicit(merged[f.name], f.type) if f.name in merged else f.type
    return pa.schema([pa.field(name, t) for name, t in merged.items()])


def _union_explicit(old: pa.DataType, new: pa.DataType) -> pa.DataType:
    if pa.types.is_struct(old) and pa.types.is_struct(new):
        children = {f.name: f.type for f in old}
        for f in new:
            children[f.name] = _union_explicit(children[f.name], f.type) if f.name in children else f.type
        return pa.struct([pa.field(name, t) for name, t in children.items()])
    if pa.types.is_list(old) and pa.types.is_list(new):
        return pa.list_(_union_explicit(old.value_type, new.value_type))
    return new


def _native_parse(lines: list[bytes], explicit: pa.Schema | None, block: int) -> pa.Table | None:
    """Parse screened lines natively; None when it fails or would lose something (then: halve, or Python)."""
    if not lines:
        return pa.table({})
    buffer = b"\n".join(lines) + b"\n"
    table = _read(buffer, explicit, block)
    if table is None or table.num_rows != len(lines):
        return None
    forced = [(f.name, timestamps_to_strings(f.type)) for f in table.schema]
    forced_fields = [pa.field(name, t) for name, t in forced if t is not None]
    if forced_fields:
        table = _read(buffer, _with_forced(explicit, forced_fields), block)
        if table is None or table.num_rows != len(lines):
            return None
    try:
        # The reader has been seen to build invalid lists (a list starting with null, arrow-rs corpus),
        # and a full validation is cheap next to the parse.
        table.validate(full=True)
    except pa.ArrowInvalid:
        return None
    if any(_loses_integers(column) for column in table.columns):
        return None
    return table


def _read(buffer: bytes, explicit: pa.Schema | None, block: int) -> pa.Table | None:
    try:
        return pj.read_json(
            pa.BufferReader(buffer),
            read_options=pj.ReadOptions(use_threads=True, block_size=min(block, max(len(buffer), 1 << 16))),
            parse_options=pj.ParseOptions(
                explicit_schema=explicit, newlines_in_values=False, unexpected_field_behavior="infer"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None


def _loses_integers(column: pa.ChunkedArray | pa.Array) -> bool:
    """True when a float column holds integral values of 2**53 or more: maybe integers a double rounded."""
    arrow_type = column.type
    if pa.types.is_floating(arrow_type):
        big = pc.greater_equal(pc.abs(column), FLOAT_EXACT_INT)
        if not pc.any(big).as_py():
            return False
        return bool(pc.any(pc.and_(big, pc.equal(pc.floor(column), column))).as_py())
    if pa.types.is_struct(arrow_type):
        arrays = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        return any(_loses_integers(child) for array in arrays for child in array.flatten())
    if pa.types.is_list(arrow_type):
        arrays = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        return any(_loses_integers(array.flatten()) for array in arrays)
    return False


def _non_null_counts(table: pa.Table) -> dict[str, int]:
    pairs = zip(table.column_names, table.columns, strict=True)
    return {name: table.num_rows - column.null_count for name, column in pairs}


def _rescued_array(rows: int, rescued: dict[int, dict[str, Any]]) -> pa.Array:
    if not rescued:
        return pa.nulls(rows, pa.string())
    texts: list[str | None] = [None] * rows
    for row, overlay in rescued.items():
        texts[row] = dumps_exact(overlay)
    return pa.array(texts, pa.string())


def _output_schema(final: pa.Schema, lineage: bool) -> pa.Schema:
    fields = list(final)
    fields.append(pa.field(RESCUED_COLUMN, pa.string()))
    if lineage:
        fields += [pa.field(SOURCE_FILE_COLUMN, pa.string()), pa.field(SOURCE_LINE_COLUMN, pa.int64())]
    return pa.schema(fields)
