"""The reading half of the Arrow engine: each input file read, whole or streamed, and fed to part groups.

``InputReader.read`` goes through a manifest's files in order. A small local file is read whole, a
batch ahead on a reading thread (``_read_ahead``); a big one (``stream_bytes``) and every non-local
one (through the ``Storage``) is read as a stream of pieces cut at line ends (``input_stream``),
its digest hashed on a thread of its own. A file that cannot be read at all is rejected with its
reason (a missing one as ``GONE``); a streamed file found unusable midway raises
``run_state.LateRejection``. What is read is cut into pieces of about ``STRETCH_BYTES`` (``_feed``),
flushed to the screening (``screening.flush``) as stretches fill, and part groups close at
``target_file_bytes`` of input or where a file group starts (``naming.file_groups``).
The per-file loop, the read-ahead and the feed stay together here: at 100,000 small files every
call per file counts, so none of them is split across a further layer.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from ...domain.errors import InputChanged, InputError, ObjectGone, PipelineError
from ...domain.records import CHANGED_SINCE_REGISTRATION, GONE, content_digest
from ...storage.base import Storage
from ..engine import ConversionJob, InputFile
from ..input_stream import InputStream, is_local, local_blocks, storage_blocks
from ..inputs import DecodedInput, Opener, compression_of, decode, read_input, read_local
from ..naming import file_groups
from .native import Declared
from .part_groups import end_group, start_group
from .run_state import FileTally, LateRejection, PartGroup, Piece, Run
from .screening import flush

log = logging.getLogger(__name__)

STRETCH_BYTES = 16 * 1024 * 1024  # input screened and handed to a parse thread at a time
READ_REPORT_FILES, READ_REPORT_BYTES = 256, 8 * 1024 * 1024  # how often the engine tells what it read
READ_AHEAD_FILES, READ_AHEAD_BYTES = 64, 8 * 1024 * 1024  # small files read ahead at a time, on a thread

# a file read whole: its stored size, digest, decoded bytes, or the error reading or decoding it raised
SmallRead = tuple[int, str | None, DecodedInput | None, Exception | None]


class InputReader:
    """Reads a manifest's files for one attempt: ``opener`` reads a small local file whole, a local file
    bigger than ``stream_bytes`` (as stored) is streamed, and so is every non-local one, from ``storage``."""

    def __init__(self, opener: Opener, stream_bytes: int, storage: Storage) -> None:
        self.opener, self.stream_bytes, self.storage = opener, stream_bytes, storage

    def read(
        self,
        job: ConversionJob,
        run: Run,
        pool: ThreadPoolExecutor,
        hasher: ThreadPoolExecutor,
        reader: ThreadPoolExecutor,
    ) -> tuple[list[PartGroup], int]:
        """Read file after file, cutting them into stretches that are screened and parsed as they fill;
        the part groups, in order, and the bytes (as stored) read."""
        groups = run.finished
        group = start_group(run)
        bytes_in = 0
        told = _ReadReport(job.on_file_read)
        small = self._read_ahead(job, reader)
        starts = set(file_groups([f.size for f in job.files], job.options.target_file_bytes))
        for index, input_file in enumerate(job.files):
            tally = run.files[index]
            if index and index in starts:
                group = self._next_file_group(run, pool, job, groups, group)
            read = next(small) if not self.streams(input_file) else None
            if index in run.rejected:
                tally.rejection = run.rejected[index]
                told.add(input_file.size)
                continue
            if self.streams(input_file):
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
        flush(group, pool, run, job)
        end_group(run, groups, group)
        return groups, bytes_in

    def streams(self, input_file: InputFile) -> bool:
        """True when the file is read as a stream: not local, or local, big and read by the local reader."""
        if not is_local(input_file.uri):
            return True
        return self.opener is read_local and input_file.size > self.stream_bytes

    def stream(self, input_file: InputFile, on_stored: Callable[[bytes], object] | None = None) -> InputStream:
        """A stream of the file's decompressed pieces (``input_stream``), through the storage unless local."""
        uri, version, size = input_file.uri, input_file.version, input_file.size
        if is_local(uri):
            path = uri[len("file://") :] if uri.startswith("file://") else uri
            blocks = local_blocks(path, version, size)
        else:
            blocks = storage_blocks(self.storage, uri, version, size)
        return InputStream(uri, blocks, start_offset=input_file.start_offset, on_stored=on_stored)

    def _read_ahead(self, job: ConversionJob, reader: ThreadPoolExecutor) -> Iterator[SmallRead]:
        """What each file read whole gives, in order, read and decoded a batch ahead on the ``reader`` thread.

        At 100,000 small files the reading thread spent most of its time getting the GIL back after
        each open, stat and read; read ahead on a thread of its own, those waits overlap the
        screening here. A batch is at most READ_AHEAD_FILES files or READ_AHEAD_BYTES (but one file),
        one is read ahead: memory stays two batches.
        """
        batches: list[list[InputFile]] = [[]]
        size = 0
        for input_file in job.files:
            if self.streams(input_file):
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

    def _read_whole(self, files: list[InputFile]) -> list[SmallRead]:
        """Read, hash and decode each file; an error is handed back in its place (raised where it is met)."""
        reads: list[SmallRead] = []
        for input_file in files:
            try:
                raw = read_input(input_file.uri, self.opener, input_file.version, input_file.size)
            except Exception as exc:  # raised by the reading thread when it gets to this file
                reads.append((0, None, None, exc))
                continue
            digest = content_digest(raw)
            try:
                reads.append((len(raw), digest, decode_from(raw, input_file), None))
            except Exception as exc:  # as above
                reads.append((len(raw), digest, None, exc))
        return reads

    def _read_streamed(
        self,
        job: ConversionJob,
        run: Run,
        pool: ThreadPoolExecutor,
        hasher: ThreadPoolExecutor,
        groups: list[PartGroup],
        group: PartGroup,
        index: int,
    ) -> tuple[PartGroup, bool]:
        """Read a big or remote file piece by piece into stretches; the group that goes on, and whether it was read.

        A file rejected before any of it was handed on is set aside as a small one is; one found unusable
        later (corrupt at the end, changed or gone while read) raises ``LateRejection``: the manifest is
        converted again without it. A transient error fails the attempt (the manifest is retried).
        """
        input_file, tally = job.files[index], run.files[index]
        digest = hashlib.sha256()
        # the digest thread hashes the blocks in order, while the stream goes on (one worker: FIFO)
        stream = self.stream(input_file, on_stored=lambda block: hasher.submit(digest.update, block))
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
                raise LateRejection(index, input_file.uri, _rejection(exc)) from exc
            _reject(tally, exc)
            return group, False
        except PipelineError as exc:
            exc.uri = exc.uri or input_file.uri
            raise
        tally.end_offset = stream.stored
        tally.digest = hasher.submit(digest.hexdigest)
        return group, True

    @staticmethod
    def _feed(
        job: ConversionJob,
        run: Run,
        pool: ThreadPoolExecutor,
        groups: list[PartGroup],
        group: PartGroup,
        index: int,
        data: bytes,
        line: int,
        offset: int,
    ) -> tuple[PartGroup, int, int]:
        """Cut ``data`` (whole lines of file ``index`` from ``line``, at ``offset``) into the group's pieces,
        flushing stretches and closing parts as they fill; the group that goes on, the next line and offset."""
        target = job.options.target_file_bytes
        position = 0
        if len(data) >= STRETCH_BYTES // 2 and group.pending:
            flush(group, pool, run, job)  # a big file is a stretch of its own: no copy
        while position < len(data):
            room = max(min(target - group.input_bytes, STRETCH_BYTES - group.pending_bytes), 1)
            if position == 0 and len(data) <= min(room + STRETCH_BYTES // 2, target - group.input_bytes):
                room = len(data)  # rather a stretch 1.5 times the usual than a copy of the file
            cut = len(data) if position + room >= len(data) else data.find(b"\n", position + room - 1) + 1
            piece = data if position == 0 and cut == len(data) else data[position:cut]
            lines = piece.count(b"\n")
            group.pending.append(Piece(index, piece, lines, line, offset))
            group.pending_bytes += len(piece)
            group.input_bytes += len(piece)
            run.files[index].lines += lines
            position, line, offset = cut, line + lines, offset + len(piece)
            if group.input_bytes >= target:
                flush(group, pool, run, job)
                end_group(run, groups, group)
                group = start_group(run)
            elif group.pending_bytes >= STRETCH_BYTES:
                flush(group, pool, run, job)
        return group, line, offset

    @staticmethod
    def _next_file_group(
        run: Run, pool: ThreadPoolExecutor, job: ConversionJob, groups: list[PartGroup], group: PartGroup
    ) -> PartGroup:
        """Start a file group (``naming.file_groups``) as a fresh run would: a new part, a new type sample, the
        fast screen tried first. A slice of the manifest starting here converts the same way on its own."""
        flush(group, pool, run, job)
        if group.input_bytes or group.parses:
            end_group(run, groups, group)
            group = start_group(run)
        run.fast, run.sampled, run.declared = True, False, Declared(None)
        return group


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


def decode_from(raw: bytes, input_file: InputFile) -> DecodedInput:
    """Decode a whole file, or the tail of a continuation (plain files only: offsets are in stored bytes)."""
    if not input_file.start_offset:
        return decode(raw)
    if compression_of(raw[:4]) != "none":
        raise InputError("a compressed file is converted whole only, never continued")
    return DecodedInput(raw[input_file.start_offset :], input_file.start_offset, "none")


def _rejection(exc: InputError | ObjectGone) -> str:
    """The ledger's rejection reason for a file that cannot be used: gone, changed, or its content's."""
    if isinstance(exc, ObjectGone):
        return f"{GONE} ({exc})"
    if isinstance(exc, InputChanged):
        return f"{CHANGED_SINCE_REGISTRATION} ({exc})"
    return str(exc)


def _reject(tally: FileTally, exc: InputError | ObjectGone) -> None:
    """Set a file aside with its reason, and say so in the log."""
    tally.rejection = _rejection(exc)
    what = "input gone" if isinstance(exc, ObjectGone) else "input changed since registration"
    if not isinstance(exc, ObjectGone | InputChanged):
        what = "input rejected"
    log.warning(what, extra={"uri": tally.uri, "reason": str(exc)})
