"""The in-process engine: NDJSON files in, Parquet parts, a quarantine file and per-file ledgers out.

How a manifest goes through (and why it stays fast)
    1. Each file is read and decompressed (``inputs``); one that cannot be read at all is rejected with
       its reason (a missing one as ``GONE``) and the rest carry on. Small local files are read whole, a
       batch ahead on a reading thread (``_read_ahead``); a big one (``stream_bytes``) and every
       non-local one (through the ``Storage``) is read as a stream of pieces cut at line ends
       (``input_stream``). A streamed file found unusable midway is rejected and the manifest
       converted again without it; a transient read error fails the attempt (it is retried).
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
       final schema, else deleted and written again from the kept chunks. Past ``KEEP_BYTES`` the
       chunks of parts already written are let go (``_let_go``); should the final schema then differ,
       the manifest is converted again with its columns known.
    6. Parts of an earlier attempt that this one did not write are deleted; the quarantine file is
       rewritten (or removed when there is nothing in it).
"""

from __future__ import annotations

import errno
import hashlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import simdjson

from ...domain.errors import (
    EngineError,
    InputChanged,
    InputError,
    ObjectGone,
    PipelineError,
    ResourceExhausted,
    exhaustion,
)
from ...domain.records import CHANGED_SINCE_REGISTRATION, GONE, Ledger, content_digest
from ...storage import any_storage
from ...storage.base import Storage
from .. import input_stream, quarantine
from ..depth import ensure_recursion_budget
from ..engine import ConversionJob, ConversionResult, Engine, InputFile, OutputFile
from ..input_stream import InputStream, is_local, local_blocks, storage_blocks
from ..inputs import DecodedInput, Opener, compression_of, decode, read_input, read_local
from ..limits import ColumnLimits, merge_within_limits
from ..lines import Triage, bad_line, screen, triage
from ..naming import file_groups, part_name
from ..provenance import Provenance
from ..schema import load_schema_file, manifest_columns, schema_from_json, schema_to_json
from .assemble import assemble_part
from .early_write import EarlyWriter
from .native import Declared, learn_declared
from .parquet_output import partition_location, remove_leftovers, write_part
from .slices import Slice, SliceOutcome
from .stretches import Chunk, line_runs, parse_buffer, parse_runs, with_buffers

log = logging.getLogger(__name__)

MIN_BLOCK = 16 * 1024 * 1024  # the native reader's block: large, fewer block boundaries to stitch
STRETCH_BYTES = 16 * 1024 * 1024  # input screened and handed to a parse thread at a time
PARSE_THREADS = 2  # one native parse per core
READ_REPORT_FILES, READ_REPORT_BYTES = 256, 8 * 1024 * 1024  # how often the engine tells what it read
READ_AHEAD_FILES, READ_AHEAD_BYTES = 64, 8 * 1024 * 1024  # small files read ahead at a time, on a thread
IN_FLIGHT = 3  # stretches screened ahead of the parse threads at most (bounds memory)
KEEP_BYTES = 256 * 1024 * 1024  # parsed tables of finished parts kept, past this let go (written early already)


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


# a file read whole: its stored size, digest, decoded bytes, or the error reading or decoding it raised
_SmallRead = tuple[int, str | None, DecodedInput | None, Exception | None]


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
    # once its tables are let go (``KEEP_BYTES``): what publishing needs of them, and their rejected rows
    seen: list[tuple[pa.Schema, dict[str, int]]] | None = None
    table_bytes: int = -1  # of its parsed tables, once all are parsed
    rejected: list[tuple[int, str, bytes]] = field(default_factory=list)
    rows: int = 0  # of its parsed tables, once they are let go (a survey counts the parts they would give)


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
    rejected: dict[int, str] = field(default_factory=dict)  # files found unusable after part of them was read
    finished: list[_Group] = field(default_factory=list)  # the groups whose parts are closed, in order
    may_let_go: bool = True  # let go of written tables past KEEP_BYTES (not once the final columns are known)
    simdjson_parser: simdjson.Parser = field(default_factory=simdjson.Parser)
    slice: Slice | None = None  # converting a slice of a manifest apart (``slices``), not a whole one


class ArrowEngine(Engine):
    """Converts a manifest in-process with PyArrow's native JSON reader and Parquet writer."""

    name = "arrow"

    #: a local file bigger than this (as stored) is read as a stream of blocks; every non-local one is
    stream_bytes = input_stream.STREAM_BYTES

    def __init__(self, storage: Storage | None = None, opener: Opener = read_local) -> None:
        """``storage``: where non-local inputs are read and parts and quarantine files written (default:
        local paths and s3:// URLs, configured the standard way); ``opener`` reads a small local file whole."""
        self._open = opener
        self.storage = storage or any_storage()

    # --- the port ---------------------------------------------------------------------------

    def convert(self, job: ConversionJob) -> ConversionResult:
        """Convert, publish atomically, and remove any leftover part of an earlier attempt."""
        return self._converting(job, None).result

    def convert_slice(self, job: ConversionJob, plan: Slice) -> SliceOutcome:
        """Convert ``job`` (a run of whole file groups of a manifest) as one slice: survey it, or write its parts
        against the manifest's schema, named from ``plan.part_offset`` on; nothing else of the manifest is
        touched (no leftover removed, no quarantine file written: the caller does that for the manifest)."""
        return self._converting(job, plan)

    def _converting(self, job: ConversionJob, plan: Slice | None) -> SliceOutcome:
        try:
            return self._convert(job, plan)
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

    def _convert(self, job: ConversionJob, plan: Slice | None) -> SliceOutcome:
        rejected: dict[int, str] = {}
        columns: pa.Schema | None = None
        while True:
            try:
                return self._attempt(job, rejected, columns, plan)
            except _LateRejection as late:
                # a streamed file turned out unusable after some of it was handed on: convert again without it
                rejected[late.index] = late.reason
                log.warning("converting again without a file found unusable midway", extra={"uri": late.uri})
            except _ConvertAgain as again:
                # the parts written early were not of the final columns, and the tables to write them again
                # were let go: convert again, writing early with the final columns known (and keeping every table)
                columns = again.columns
                log.info("converting again with the manifest's columns known", extra={"manifest_id": job.manifest_id})

    def _attempt(
        self, job: ConversionJob, rejected: dict[int, str], columns: pa.Schema | None, plan: Slice | None
    ) -> SliceOutcome:
        ensure_recursion_budget()  # values nested up to 1,024 levels are walked recursively (``depth``)
        options = job.options
        stored = schema_from_json(job.schema_json)
        fixed = load_schema_file(options.schema_file) if options.schema_file else None
        block = max(MIN_BLOCK, options.max_line_bytes + 2)
        files = [_FileTally(uri=f.uri) for f in job.files]
        run = _Run(files=files, declared=Declared(None), block=block, schemas=(fixed, stored), rejected=rejected)
        run.slice = plan
        if not options.strict and not (plan is not None and plan.survey):
            folder = partition_location(job.output_root, job.dataset, job.date)
            uris = [f.uri for f in job.files]
            offset = plan.part_offset if plan is not None else 0
            run.early = EarlyWriter(folder, job.manifest_id, stored, fixed, options, uris, self.storage, offset)
            if columns is not None:  # known from an earlier attempt: written early, and nothing is let go
                run.early.guess, run.may_let_go = columns, False
            elif plan is not None:  # the manifest's columns are known: the early parts are the final ones
                run.early.guess = plan.columns
        try:
            with (
                ThreadPoolExecutor(max_workers=PARSE_THREADS, thread_name_prefix="n2p-parse") as pool,
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="n2p-digest") as hasher,
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="n2p-read") as reader,
            ):
                groups, bytes_in = self._read(job, run, pool, hasher, reader)
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
    ) -> SliceOutcome:
        parsed = [[chunk for future in g.parses for chunk in future.result()] for g in groups]
        finder = _OffsetFinder(job, self._open, self._streams, self._stream)
        for group, chunks in zip(groups, parsed, strict=True):
            for row, reason, raw in [r for chunk in chunks for r in chunk.rejected] + group.rejected:
                _quarantine_row(group, row, reason, raw, run, finder)
        return self._publish(job, run, groups, parsed, stored, fixed, bytes_in, finder)

    def _read(
        self,
        job: ConversionJob,
        run: _Run,
        pool: ThreadPoolExecutor,
        hasher: ThreadPoolExecutor,
        reader: ThreadPoolExecutor,
    ) -> tuple[list[_Group], int]:
        """Read file after file, cutting them into stretches that are screened and parsed as they fill."""
        groups = run.finished
        group = self._start_group(run)
        bytes_in = 0
        told = _ReadReport(job.on_file_read)
        small = self._read_ahead(job, reader)
        starts = set(file_groups([f.size for f in job.files], job.options.target_file_bytes))
        for index, input_file in enumerate(job.files):
            tally = run.files[index]
            if index and index in starts:
                group = self._next_file_group(run, pool, job, groups, group)
            read = next(small) if not self._streams(input_file) else None
            if index in run.rejected:
                tally.rejection = run.rejected[index]
                told.add(input_file.size)
                continue
            if self._streams(input_file):
                group, read = self._read_streamed(job, run, pool, hasher, groups, group, index)
                bytes_in += input_file.size if read else 0
                told.add(input_file.size)
                continue
            assert read is not None
            tally.end_offset, tally.digest, decoded, error = read
            del read
            if error is not None:
                if not isinstance(error, InputError | ObjectGone):
                    raise error
                _reject(tally, error)
                told.add(input_file.size)
                continue
            assert decoded is not None
            bytes_in += input_file.size
            told.add(input_file.size)
            data = decoded.data
            if data and not data.endswith(b"\n"):
                data += b"\n"  # a final unterminated line is a line
            line, offset = input_file.first_line, decoded.start_offset
            del decoded
            group, line, offset = self._feed(job, run, pool, groups, group, index, data, line, offset)
            del data
        told.flush()
        self._flush(group, pool, run, job)
        self._end_group(run, groups, group)
        return groups, bytes_in

    def _read_ahead(self, job: ConversionJob, reader: ThreadPoolExecutor) -> Iterator[_SmallRead]:
        """What each file read whole gives, in order, read and decoded a batch ahead on the ``reader`` thread.

        At 100,000 small files the reading thread spent most of its time getting the GIL back after
        each open, stat and read; read ahead on a thread of its own, those waits overlap the
        screening here. A batch is at most READ_AHEAD_FILES files or READ_AHEAD_BYTES (but one file),
        one is read ahead: memory stays two batches.
        """
        batches: list[list[InputFile]] = [[]]
        size = 0
        for input_file in job.files:
            if self._streams(input_file):
                continue
            if batches[-1] and (len(batches[-1]) >= READ_AHEAD_FILES or size + input_file.size > READ_AHEAD_BYTES):
                batches.append([])
                size = 0
            batches[-1].append(input_file)
            size += input_file.size
        ahead = deque([reader.submit(self._read_whole, batches[0])])
        for following in batches[1:]:
            ahead.append(reader.submit(self._read_whole, following))
            yield from ahead.popleft().result()
        yield from ahead.popleft().result()

    def _read_whole(self, files: list[InputFile]) -> list[_SmallRead]:
        """Read, hash and decode each file; an error is handed back in its place (raised where it is met)."""
        reads: list[_SmallRead] = []
        for input_file in files:
            try:
                raw = read_input(input_file.uri, self._open, input_file.version, input_file.size)
            except Exception as exc:  # raised by the reading thread when it gets to this file
                reads.append((0, None, None, exc))
                continue
            digest = content_digest(raw)
            try:
                reads.append((len(raw), digest, _decode_from(raw, input_file), None))
            except Exception as exc:  # as above
                reads.append((len(raw), digest, None, exc))
        return reads

    def _streams(self, input_file: InputFile) -> bool:
        """True when the file is read as a stream: not local, or local, big and read by the local reader."""
        if not is_local(input_file.uri):
            return True
        return self._open is read_local and input_file.size > self.stream_bytes

    def _stream(self, input_file: InputFile, on_stored: Callable[[bytes], object] | None = None) -> InputStream:
        """A stream of the file's decompressed pieces (``input_stream``), through the storage unless local."""
        uri, version, size = input_file.uri, input_file.version, input_file.size
        if is_local(uri):
            path = uri[len("file://") :] if uri.startswith("file://") else uri
            blocks = local_blocks(path, version, size)
        else:
            blocks = storage_blocks(self.storage, uri, version, size)
        return InputStream(uri, blocks, start_offset=input_file.start_offset, on_stored=on_stored)

    def _read_streamed(
        self,
        job: ConversionJob,
        run: _Run,
        pool: ThreadPoolExecutor,
        hasher: ThreadPoolExecutor,
        groups: list[_Group],
        group: _Group,
        index: int,
    ) -> tuple[_Group, bool]:
        """Read a big or remote file piece by piece into stretches; the group that goes on, and whether it was read.

        A file rejected before any of it was handed on is set aside as a small one is; one found unusable
        later (corrupt at the end, changed or gone while read) raises ``_LateRejection``: the manifest is
        converted again without it. A transient error fails the attempt (the manifest is retried).
        """
        input_file, tally = job.files[index], run.files[index]
        digest = hashlib.sha256()
        # the digest thread hashes the blocks in order, while the stream goes on (one worker: FIFO)
        stream = self._stream(input_file, on_stored=lambda block: hasher.submit(digest.update, block))
        line, offset, handed = input_file.first_line, 0, False
        try:
            for piece in stream.pieces():
                if not handed:
                    offset, handed = stream.start_offset, True
                if not piece.endswith(b"\n"):
                    piece += b"\n"  # a final unterminated line is a line
                group, line, offset = self._feed(job, run, pool, groups, group, index, piece, line, offset)
        except (InputError, ObjectGone) as exc:
            if handed:
                raise _LateRejection(index, input_file.uri, _rejection(exc)) from exc
            _reject(tally, exc)
            return group, False
        except PipelineError as exc:
            exc.uri = exc.uri or input_file.uri
            raise
        tally.end_offset = stream.stored
        tally.digest = hasher.submit(digest.hexdigest)
        return group, True

    def _feed(
        self,
        job: ConversionJob,
        run: _Run,
        pool: ThreadPoolExecutor,
        groups: list[_Group],
        group: _Group,
        index: int,
        data: bytes,
        line: int,
        offset: int,
    ) -> tuple[_Group, int, int]:
        """Cut ``data`` (whole lines of file ``index`` from ``line``, at ``offset``) into the group's pieces,
        flushing stretches and closing parts as they fill; the group that goes on, the next line and offset."""
        target = job.options.target_file_bytes
        position = 0
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
        return group, line, offset

    def _next_file_group(
        self, run: _Run, pool: ThreadPoolExecutor, job: ConversionJob, groups: list[_Group], group: _Group
    ) -> _Group:
        """Start a file group (``naming.file_groups``) as a fresh run would: a new part, a new type sample, the
        fast screen tried first. A slice of the manifest starting here converts the same way on its own."""
        self._flush(group, pool, run, job)
        if group.input_bytes or group.parses:
            self._end_group(run, groups, group)
            group = self._start_group(run)
        run.fast, run.sampled, run.declared = True, False, Declared(None)
        return group

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
        if run.early is not None or (run.slice is not None and run.slice.survey):
            _let_go(run, groups)  # a survey needs only the summaries of a finished part's tables

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
        if run.early is not None or (run.slice is not None and run.slice.survey):
            _let_go(run, run.finished)

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
    ) -> SliceOutcome:
        options = job.options
        plan = run.slice
        seen = [
            summary
            for group, chunks in zip(groups, parsed, strict=True)
            for summary in (group.seen if group.seen is not None else [_summary(chunk) for chunk in chunks])
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
            return self._surveyed(job, run, groups, parsed, seen, bytes_in)
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
            raise _ConvertAgain(columns)
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
            name = part_name(job.manifest_id, offset + len(outputs))
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
        bad = _in_input_order(run)
        quarantine_written = None
        if plan is None:
            remove_leftovers(folder, job.manifest_id, keep={o.path for o in outputs}, storage=self.storage)
            qpath = quarantine.quarantine_path(job.quarantine_root, job.dataset, job.date, job.manifest_id)
            quarantine_written = quarantine.publish(qpath, bad, self.storage)
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

    @staticmethod
    def _surveyed(
        job: ConversionJob,
        run: _Run,
        groups: list[_Group],
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


def _ledgers(job: ConversionJob, run: _Run) -> dict[str, Ledger]:
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


def _in_input_order(run: _Run) -> list[dict[str, Any]]:
    """The quarantine records by file, then line: the same file whether the manifest converted at once or
    in slices (lines are screened while read, a refused stretch's lines when it is parsed)."""
    order = {}
    for index, tally in enumerate(run.files):
        order.setdefault(tally.uri, index)
    return sorted(run.bad, key=lambda record: (order.get(record["source"], -1), record["line"]))


class _LateRejection(Exception):
    """A streamed file found unusable after part of it was handed on (the manifest converts again without it)."""

    def __init__(self, index: int, uri: str, reason: str) -> None:
        super().__init__(reason)
        self.index, self.uri, self.reason = index, uri, reason


class _ConvertAgain(Exception):
    """The parts written early are not of the manifest's final ``columns``, and the kept tables were let go."""

    def __init__(self, columns: pa.Schema) -> None:
        super().__init__("convert again")
        self.columns = columns


def _let_go(run: _Run, groups: list[_Group]) -> None:
    """Past ``KEEP_BYTES`` of parsed tables of finished parts, let go of the oldest (the early writer has them).

    Only what publishing needs is kept of them (each chunk's schema and non-null counts, its rejected
    rows); should the early parts turn out not to be of the final columns, the manifest is converted
    again (``_ConvertAgain``). Memory then stays a few parts' tables, however big the manifest.
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
        group.seen = [_summary(chunk) for chunk in chunks]
        group.rows = sum(chunk.table.num_rows for chunk in chunks)
        group.rejected = [r for chunk in chunks for r in chunk.rejected]
        group.parses = []
        total -= group.table_bytes


def _summary(chunk: Chunk) -> tuple[pa.Schema, dict[str, int]]:
    return chunk.table.schema, _non_null_counts(chunk.table)


def _rejection(exc: InputError | ObjectGone) -> str:
    """The ledger's rejection reason for a file that cannot be used: gone, changed, or its content's."""
    if isinstance(exc, ObjectGone):
        return f"{GONE} ({exc})"
    if isinstance(exc, InputChanged):
        return f"{CHANGED_SINCE_REGISTRATION} ({exc})"
    return str(exc)


def _reject(tally: _FileTally, exc: InputError | ObjectGone) -> None:
    """Set a file aside with its reason, and say so in the log."""
    tally.rejection = _rejection(exc)
    what = "input gone" if isinstance(exc, ObjectGone) else "input changed since registration"
    if not isinstance(exc, ObjectGone | InputChanged):
        what = "input rejected"
    log.warning(what, extra={"uri": tally.uri, "reason": str(exc)})


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
    """Byte offset of a line of a fast-path row, found by reading its file again (only to quarantine it).

    A streamed file is read again piece by piece, from where the last lookup left it when the line
    comes later (rows are quarantined in order, so a file is mostly read once).
    """

    def __init__(
        self,
        job: ConversionJob,
        opener: Opener,
        streams: Callable[[InputFile], bool],
        stream: Callable[[InputFile], InputStream],
    ) -> None:
        self._job = job
        self._open = opener
        self._streams, self._stream = streams, stream
        self._cached: tuple[int, bytes, int] | None = None
        # a streamed file's reading: (file index, its pieces, the piece at hand, its first line, its offset)
        self._streamed: tuple[int, Iterator[bytes], bytes, int, int] | None = None

    def __call__(self, file_index: int, line: int) -> int:
        input_file = self._job.files[file_index]
        if self._streams(input_file):
            return self._streamed_offset(file_index, line)
        if self._cached is None or self._cached[0] != file_index:
            decoded = _decode_from(self._open(input_file.uri), input_file)
            self._cached = (file_index, decoded.data, decoded.start_offset)
        _, data, start = self._cached
        return start + _line_start(data, line - input_file.first_line)

    def _streamed_offset(self, file_index: int, line: int) -> int:
        state = self._streamed
        if state is None or state[0] != file_index or line < state[3]:
            stream = self._stream(self._job.files[file_index])
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
