"""The in-process engine: NDJSON files in, Parquet parts, a quarantine file and per-file ledgers out.

How a manifest goes through (and why it stays fast)
    1. Each file is read and decompressed (``inputs``); one that cannot be read at all is rejected with
       its reason and the rest carry on.
    2. Files are gathered, whole or cut at a line, into stretches of about ``STRETCH_BYTES`` (a big
       file is a stretch of its own, never copied), and each stretch is triaged (``lines.triage``).
       When every line starts with ``{`` and none could be too long or too deep, the stretch goes to
       the native reader as it is: no line is parsed twice. Otherwise it is screened, whole by
       simdjson in one native pass, or line by line (``screen``): bad lines go to the quarantine
       file, blank lines are counted. After a stretch that needed a line-by-line look, the next one
       goes line by line at once, until one is clean again.
    3. Stretches are parsed by ``pyarrow.json`` on two worker threads (the reader uses one core per
       call), with the types a small sample showed declared to the reader (date-like strings as
       strings, see ``native.Declared``). Parts close past ``target_file_bytes`` of input.
    4. When the reader refuses an unscreened stretch (a malformed line, NaN, two values on a line),
       the worker screens it line by line and quarantines the bad lines' rows. When a parse fails
       for a type drifting within the stretch or duplicate keys, or would lose something (an integer
       a double cannot hold), the stretch is halved and each half parsed again; a failing stretch of
       at most ``SLOW_STRETCH`` lines is parsed exactly in Python (``stretches``).
    5. The schema is decided over all stretches of the manifest with the stored schema (``schema``),
       within the dataset's column limits (``limits``); the parts carry only the columns the manifest
       has values for (``manifest_columns``: a manifest costs what its own fields cost, however wide
       its dataset); each stretch is brought to them (``assemble``, ``conform``), misfits go to
       ``_rescued_data`` (or, in strict mode, their rows to quarantine), and each part is written
       under a temp name and renamed. Values may nest 1,024 levels deep: the engine sets the recursion
       limit its walks need (``depth``).
       Outside strict mode a writer thread does this while stretches are still parsed, against the
       schema the first chunk shows (``early_write``); the early parts are published when that was the
       final schema, else deleted and written again from the kept chunks.
    6. Parts of an earlier attempt that this one did not write are deleted; the quarantine file is
       rewritten (or removed when there is nothing in it).
"""

from __future__ import annotations

import errno
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import simdjson

from ...domain.errors import EngineError, InputChanged, InputError, PipelineError, ResourceExhausted, exhaustion
from ...domain.records import CHANGED_SINCE_REGISTRATION, Ledger, content_digest
from ...storage.base import Storage
from ...storage.local import LocalStorage
from .. import quarantine
from ..depth import ensure_recursion_budget
from ..engine import ConversionJob, ConversionResult, Engine, InputFile, OutputFile
from ..inputs import DecodedInput, Opener, compression_of, decode, read_input, read_local
from ..limits import ColumnLimits, merge_within_limits
from ..lines import Triage, bad_line, screen, triage
from ..naming import part_name
from ..provenance import Provenance
from ..schema import load_schema_file, manifest_columns, schema_from_json, schema_to_json
from .assemble import assemble_part
from .early_write import EarlyWriter
from .native import Declared, learn_declared
from .parquet_output import partition_location, remove_leftovers, write_part
from .stretches import Chunk, line_runs, parse_buffer, parse_runs, with_buffers

log = logging.getLogger(__name__)

MIN_BLOCK = 16 * 1024 * 1024  # the native reader's block: large, fewer block boundaries to stitch
STRETCH_BYTES = 16 * 1024 * 1024  # input screened and handed to a parse thread at a time
PARSE_THREADS = 2  # one native parse per core
READ_REPORT_FILES, READ_REPORT_BYTES = 256, 8 * 1024 * 1024  # how often the engine tells what it read
HASH_ASIDE = 1024 * 1024  # a file bigger than this is hashed on the digest thread
IN_FLIGHT = 3  # stretches screened ahead of the parse threads at most (bounds memory)


@dataclass(slots=True)
class _FileTally:
    uri: str
    lines: int = 0
    blank: int = 0
    quarantined: int = 0
    rejection: str | None = None
    outputs: list[str] = field(default_factory=list)
    end_offset: int = 0  # the bytes (as stored) read: the converted prefix ends here
    digest: Future[str] | str | None = None  # of those bytes; a big file's is hashed on a thread of its own


@dataclass(slots=True)
class _Piece:
    """Lines of one file waiting to be screened: the whole file or a stretch of it cut at a line."""

    file: int
    data: bytes  # ends with b"\n"
    lines: int
    first_line: int
    start_offset: int


@dataclass(slots=True)
class _Group:
    """What is bound for one output part: pending pieces, parses under way, where each row came from."""

    provenance: Provenance = field(default_factory=Provenance)
    pending: list[_Piece] = field(default_factory=list)
    pending_bytes: int = 0
    input_bytes: int = 0
    parses: list[Future[list[Chunk]]] = field(default_factory=list)


@dataclass(slots=True)
class _Run:
    """What one conversion accumulates."""

    files: list[_FileTally]
    declared: Declared
    block: int
    schemas: tuple[pa.Schema | None, pa.Schema | None]  # (fixed, stored): their strings are declared once sampled
    bad: list[dict[str, Any]] = field(default_factory=list)
    values_rescued: int = 0
    sampled: bool = False
    fast: bool = True  # try the one-pass screen on the next stretch
    in_flight: deque[Future[list[Chunk]]] = field(default_factory=deque)
    early: EarlyWriter | None = None  # writes the parts while stretches are parsed (not in strict mode)
    simdjson_parser: simdjson.Parser = field(default_factory=simdjson.Parser)


class ArrowEngine(Engine):
    """Converts a manifest in-process with PyArrow's native JSON reader and Parquet writer."""

    name = "arrow"

    def __init__(self, opener: Opener = read_local, storage: Storage | None = None) -> None:
        """``storage``: where parts and quarantine files are written (default: local paths only)."""
        self._open = opener
        self.storage = storage or LocalStorage()

    # --- the port ---------------------------------------------------------------------------

    def convert(self, job: ConversionJob) -> ConversionResult:
        """Convert, publish atomically, and remove any leftover part of an earlier attempt."""
        try:
            return self._convert(job)
        except PipelineError:
            raise
        except Exception as exc:
            exhausted = exhaustion(exc)  # disk full, out of memory or file handles: the run stops, no attempt spent
            if exhausted is not None:
                raise ResourceExhausted(f"manifest {job.manifest_id}: {exhausted}{_disk_of(job, exc)}") from exc
            if isinstance(exc, OSError):
                raise EngineError(f"manifest {job.manifest_id}: I/O failed: {exc}", transient=True) from exc
            if isinstance(exc, pa.ArrowException | ValueError | TypeError):
                raise EngineError(f"manifest {job.manifest_id}: conversion failed: {exc}") from exc
            raise

    def remove_outputs(self, job: ConversionJob) -> None:
        """Delete every part and quarantine file this manifest may have written (compensation)."""
        folder = partition_location(job.output_root, job.dataset, job.date)
        remove_leftovers(folder, job.manifest_id, keep=set(), storage=self.storage)
        where = quarantine.quarantine_path(job.quarantine_root, job.dataset, job.date, job.manifest_id)
        quarantine.remove(where, self.storage)

    # --- reading, screening, handing stretches to the parse threads ----------------------------

    def _convert(self, job: ConversionJob) -> ConversionResult:
        ensure_recursion_budget()  # values nested up to 1,024 levels are walked recursively (``depth``)
        options = job.options
        stored = schema_from_json(job.schema_json)
        fixed = load_schema_file(options.schema_file) if options.schema_file else None
        block = max(MIN_BLOCK, options.max_line_bytes + 2)
        files = [_FileTally(uri=f.uri) for f in job.files]
        run = _Run(files=files, declared=Declared(None), block=block, schemas=(fixed, stored))
        if not options.strict:
            folder = partition_location(job.output_root, job.dataset, job.date)
            uris = [f.uri for f in job.files]
            run.early = EarlyWriter(folder, job.manifest_id, stored, fixed, options, uris, self.storage)
        try:
            with (
                ThreadPoolExecutor(max_workers=PARSE_THREADS, thread_name_prefix="n2p-parse") as pool,
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="n2p-digest") as hasher,
            ):
                groups, bytes_in = self._read(job, run, pool, hasher)
            if run.early is not None:
                run.early.stop()
            return self._finish(job, run, groups, stored, fixed, bytes_in)
        except BaseException:
            if run.early is not None:
                run.early.stop()  # a second stop only waits for a thread already done
                run.early.discard()
            raise

    def _finish(
        self,
        job: ConversionJob,
        run: _Run,
        groups: list[_Group],
        stored: pa.Schema | None,
        fixed: pa.Schema | None,
        bytes_in: int,
    ) -> ConversionResult:
        parsed = [[chunk for future in g.parses for chunk in future.result()] for g in groups]
        finder = _OffsetFinder(job, self._open)
        for group, chunks in zip(groups, parsed, strict=True):
            for chunk in chunks:
                for row, reason, raw in chunk.rejected:
                    _quarantine_row(group, row, reason, raw, run, finder)
        return self._publish(job, run, groups, parsed, stored, fixed, bytes_in, finder)

    def _read(
        self, job: ConversionJob, run: _Run, pool: ThreadPoolExecutor, hasher: ThreadPoolExecutor
    ) -> tuple[list[_Group], int]:
        """Read file after file, cutting them into stretches that are screened and parsed as they fill."""
        target = job.options.target_file_bytes
        groups: list[_Group] = []
        group = self._start_group(run)
        bytes_in = 0
        told = _ReadReport(job.on_file_read)
        for index, input_file in enumerate(job.files):
            tally = run.files[index]
            try:
                raw = read_input(input_file.uri, self._open, input_file.version, input_file.size)
                # sha256 releases the GIL: a big file's digest is computed while it is screened and parsed; a
                # small one's costs less than handing it to a thread (at 100,000 files that handing is seconds)
                tally.end_offset = len(raw)
                tally.digest = hasher.submit(content_digest, raw) if len(raw) > HASH_ASIDE else content_digest(raw)
                decoded = _decode_from(raw, input_file)
            except InputChanged as exc:
                tally.rejection = f"{CHANGED_SINCE_REGISTRATION} ({exc})"
                log.warning("input changed since registration", extra={"uri": input_file.uri, "reason": str(exc)})
                continue
            except InputError as exc:
                tally.rejection = str(exc)
                log.warning("input rejected", extra={"uri": input_file.uri, "reason": str(exc)})
                told.add(input_file.size)
                continue
            del raw
            bytes_in += input_file.size
            told.add(input_file.size)
            data = decoded.data
            if data and not data.endswith(b"\n"):
                data += b"\n"  # a final unterminated line is a line
            position, line, offset = 0, input_file.first_line, decoded.start_offset
            del decoded
            if len(data) >= STRETCH_BYTES // 2 and group.pending:
                self._flush(group, pool, run, job)  # a big file is a stretch of its own: no copy
            while position < len(data):
                room = max(min(target - group.input_bytes, STRETCH_BYTES - group.pending_bytes), 1)
                if position == 0 and len(data) <= min(room + STRETCH_BYTES // 2, target - group.input_bytes):
                    room = len(data)  # rather a stretch 1.5 times the usual than a copy of the file
                cut = len(data) if position + room >= len(data) else data.find(b"\n", position + room - 1) + 1
                piece = data if position == 0 and cut == len(data) else data[position:cut]
                lines = piece.count(b"\n")
                group.pending.append(_Piece(index, piece, lines, line, offset))
                group.pending_bytes += len(piece)
                group.input_bytes += len(piece)
                run.files[index].lines += lines
                position, line, offset = cut, line + lines, offset + len(piece)
                if group.input_bytes >= target:
                    self._flush(group, pool, run, job)
                    self._end_group(run, groups, group)
                    group = self._start_group(run)
                elif group.pending_bytes >= STRETCH_BYTES:
                    self._flush(group, pool, run, job)
            del data
        told.flush()
        self._flush(group, pool, run, job)
        self._end_group(run, groups, group)
        return groups, bytes_in

    @staticmethod
    def _start_group(run: _Run) -> _Group:
        group = _Group()
        if run.early is not None:
            run.early.start_group(group.provenance)
        return group

    @staticmethod
    def _end_group(run: _Run, groups: list[_Group], group: _Group) -> None:
        groups.append(group)
        if run.early is not None:
            run.early.end_group()

    def _flush(self, group: _Group, pool: ThreadPoolExecutor, run: _Run, job: ConversionJob) -> None:
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
            self._sample(run, buffer)
            screened = verdict is not Triage.NATIVE
            args = (buffer, lines, base, run.declared, run.block, screened)
            self._submit(group, pool, run, parse_buffer, *args)
            return
        runs = self._screen_lines(group, pieces, run, max_line)
        if runs:
            # each run of rows becomes one buffer here: joined on a parse thread it measured slower (the
            # join holds the GIL against this thread's screening, and the parse threads are the busy ones)
            payloads = with_buffers(runs)
            self._sample(run, next((payload for exact, payload, _ in payloads if not exact), b""))
            self._submit(group, pool, run, parse_runs, payloads, run.declared, run.block)

    @staticmethod
    def _sample(run: _Run, buffer: bytes) -> None:
        """Learn the types to declare to the reader from the manifest's first rows (once)."""
        if not run.sampled:
            run.declared = learn_declared(buffer, run.schemas[0], run.block, run.schemas[1])
            run.sampled = True

    def _screen_lines(
        self, group: _Group, pieces: list[_Piece], run: _Run, max_line: int
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

    def _submit(self, group: _Group, pool: ThreadPoolExecutor, run: _Run, work: Any, *args: Any) -> None:
        """Queue a parse, first waiting while too many are ahead (memory stays bounded whatever the input)."""
        while len(run.in_flight) >= IN_FLIGHT:
            run.in_flight.popleft().exception()  # waits; its exception, if any, is raised where results are read
        future = pool.submit(work, *args)
        run.in_flight.append(future)
        group.parses.append(future)
        if run.early is not None:
            run.early.parse(future)

    # --- publishing -------------------------------------------------------------------------

    def _publish(
        self,
        job: ConversionJob,
        run: _Run,
        groups: list[_Group],
        parsed: list[list[Chunk]],
        stored: pa.Schema | None,
        fixed: pa.Schema | None,
        bytes_in: int,
        finder: _OffsetFinder,
    ) -> ConversionResult:
        options = job.options
        seen = [(chunk.table.schema, _non_null_counts(chunk.table)) for chunks in parsed for chunk in chunks]
        final = merge_within_limits(
            stored,
            fixed,
            seen,
            ColumnLimits(options.max_columns, options.max_leaf_columns),
            widen=options.allow_widening,
        )
        columns = manifest_columns(final, seen)  # what this manifest's parts carry

        outputs: list[OutputFile] = []
        folder = partition_location(job.output_root, job.dataset, job.date)
        uris = [f.uri for f in run.files]
        early = run.early.publish(columns) if run.early is not None else None
        for part in early or []:
            run.values_rescued += part.rescued
            if part.path is None:
                continue
            outputs.append(OutputFile(path=str(part.path), rows=part.rows, bytes=part.size))
            for file_index in sorted(part.files):
                run.files[file_index].outputs.append(str(part.path))
        late = list(zip(groups, parsed, strict=True)) if early is None else []  # written afterwards
        for group, chunks in late:

            def quarantine_row(row: int, reason: str, raw: bytes, group: _Group = group) -> None:
                _quarantine_row(group, row, reason, raw, run, finder)

            table, written_files, rescued = assemble_part(
                chunks, columns, options, group.provenance, uris, quarantine_row
            )
            run.values_rescued += rescued
            if table.num_rows == 0:
                continue
            name = part_name(job.manifest_id, len(outputs))
            path = folder / name if isinstance(folder, Path) else Storage.join(folder, name)
            size = write_part(
                path,
                table,
                compression=options.compression,
                row_group_rows=options.row_group_rows,
                storage=self.storage,
            )
            outputs.append(OutputFile(path=str(path), rows=table.num_rows, bytes=size))
            for file_index in sorted(written_files):
                run.files[file_index].outputs.append(str(path))
        remove_leftovers(folder, job.manifest_id, keep={o.path for o in outputs}, storage=self.storage)
        qpath = quarantine.quarantine_path(job.quarantine_root, job.dataset, job.date, job.manifest_id)
        quarantine_written = quarantine.publish(qpath, run.bad, self.storage)

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
        return ConversionResult(
            outputs=tuple(outputs),
            ledgers=ledgers,
            schema_json=job.schema_json if stored is not None and final.equals(stored) else schema_to_json(final),
            rows_written=sum(o.rows for o in outputs),
            rows_quarantined=sum(t.quarantined for t in run.files),
            values_rescued=run.values_rescued,
            bytes_in=bytes_in,
            quarantine_path=quarantine_written,
        )


def _disk_of(job: ConversionJob, exc: Exception) -> str:
    """Where a full disk (or quota) was met: the lake's folder, and the quarantine's when it lies elsewhere."""
    if not isinstance(exc, OSError) or exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        return ""
    inside = Path(job.quarantine_root).is_relative_to(job.output_root)
    return f" (writing under {job.output_root}{'' if inside else ' or ' + job.quarantine_root})"


class _ReadReport:
    """Tells ``on_file_read`` what was read, every `READ_REPORT_FILES` files or `READ_REPORT_BYTES` bytes
    (a call per small file cost more than reading it) and at the end."""

    def __init__(self, on_file_read: Callable[[int, int], None] | None) -> None:
        self._tell, self._files, self._bytes = on_file_read, 0, 0

    def add(self, size: int) -> None:
        if self._tell is None:
            return
        self._files, self._bytes = self._files + 1, self._bytes + size
        if self._files >= READ_REPORT_FILES or self._bytes >= READ_REPORT_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._tell is not None and self._files:
            self._tell(self._files, self._bytes)
            self._files = self._bytes = 0


def _quarantine_row(group: _Group, row: int, reason: str, raw: bytes, run: _Run, finder: _OffsetFinder) -> None:
    file_index, line, offset = group.provenance.source(row, finder)
    run.files[file_index].quarantined += 1
    run.bad.append(bad_line(line, offset, reason, raw).record(run.files[file_index].uri))


class _OffsetFinder:
    """Byte offset of a line of a fast-path row, found by reading its file again (only to quarantine it)."""

    def __init__(self, job: ConversionJob, opener: Opener) -> None:
        self._job = job
        self._open = opener
        self._cached: tuple[int, bytes, int] | None = None

    def __call__(self, file_index: int, line: int) -> int:
        input_file = self._job.files[file_index]
        if self._cached is None or self._cached[0] != file_index:
            decoded = _decode_from(self._open(input_file.uri), input_file)
            self._cached = (file_index, decoded.data, decoded.start_offset)
        _, data, start = self._cached
        position = 0
        for _ in range(line - input_file.first_line):
            position = data.find(b"\n", position) + 1
        return start + position


def _decode_from(raw: bytes, input_file: InputFile) -> DecodedInput:
    """Decode a whole file, or the tail of a continuation (plain files only: offsets are in stored bytes)."""
    if not input_file.start_offset:
        return decode(raw)
    if compression_of(raw[:4]) != "none":
        raise InputError("a compressed file is converted whole only, never continued")
    return DecodedInput(raw[input_file.start_offset :], input_file.start_offset, "none")


def _non_null_counts(table: pa.Table) -> dict[str, int]:
    pairs = zip(table.column_names, table.columns, strict=True)
    return {name: table.num_rows - column.null_count for name, column in pairs}
