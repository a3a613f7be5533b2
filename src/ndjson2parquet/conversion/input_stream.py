"""Reading an input too big to hold whole: stored blocks in, decompressed pieces cut at line ends out.

An input above ``STREAM_BYTES`` as stored, and every input that is not a local file (read through a
``Storage``), is read block by block: decompressed as it comes (several gzip members through
``zlib.decompressobj``, several zstd frames, or plain), cut after the last line end of about
``PIECE_BYTES`` at a time, its encoding checked on the first piece (BOMs, ``inputs.wide_encoding``)
exactly as a whole read checks it. Memory stays a few pieces, whatever the size of the file.

Every stored block is handed to ``on_stored`` (the engine hashes them for the ledger's digest) and
counted: the registered size is checked at the end, as a whole read checks it; a local file's version
(size and modification time) is checked on the descriptor it is read through before the first block,
and one that grows while it is read is caught (more bytes than registered).

Errors are those of a whole read (``inputs`` module doc): InputError to reject the file (its
content, or InputChanged), ObjectGone when it is not there, a transient error (the storage's
``TransientError``, or an EngineError for ``EIO`` and the like) when it may read fine later, and
ResourceExhausted. They may come after some pieces were handed on: the engine deals with that.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from itertools import chain

import zstandard

from ..domain.errors import InputChanged, InputError, ObjectGone
from ..domain.records import local_version
from ..storage.base import Storage
from .inputs import SNIFF_BYTES, ZSTD_MAGIC, _open_regular, bom_length, compression_of, read_error

STREAM_BYTES = 64 * 1024 * 1024  # a local file bigger than this as stored is streamed
READ_BLOCK = 16 * 1024 * 1024  # stored bytes read at a time
PIECE_BYTES = 16 * 1024 * 1024  # decompressed bytes handed on at a time (cut at the last line end)
_INFLATE_MAX = 16 * 1024 * 1024  # decompressed bytes one zlib call may return (a gzip bomb stays bounded)
_FEED = 1024 * 1024  # compressed bytes fed at a time (zstd's output has no bound of its own: this is it)


def is_local(uri: str) -> bool:
    """True for a local path or ``file://`` URI, False for an object store's URL (``s3://``)."""
    return "://" not in uri or uri.startswith("file://")


def local_blocks(uri: str, version: str = "", size: int = 0) -> Iterator[bytes]:
    """The stored blocks of a local file; with ``version``, exactly the registered version's ``size`` bytes."""
    try:
        fd, status = _open_regular(uri)
    except FileNotFoundError as exc:
        raise ObjectGone(f"input not found: {uri}", uri=uri) from exc
    try:
        if version and local_version(status.st_size, status.st_mtime_ns) != version:
            raise InputChanged(f"size or modification time differ from the registered version ({version})", uri=uri)
        read = 0
        while block := os.read(fd, READ_BLOCK):
            read += len(block)
            if version and read > size:
                raise InputChanged(f"grew while read: more than the registered version's {size} bytes", uri=uri)
            yield block
    finally:
        os.close(fd)
    if version and read != size:
        raise InputChanged(f"{read} bytes read, the registered version has {size}", uri=uri)


def storage_blocks(storage: Storage, uri: str, version: str = "", size: int = 0) -> Iterator[bytes]:
    """The stored blocks of an object, streamed from ``storage``; with ``version``, ``size`` bytes exactly."""
    read = 0
    with storage.open_read(uri) as stream:
        while block := stream.read(READ_BLOCK):
            read += len(block)
            yield block
    if version and read != size:
        raise InputChanged(f"{read} bytes read, the registered version has {size}", uri=uri)


class InputStream:
    """One input read piece by piece (module doc). ``pieces`` is read once."""

    def __init__(
        self,
        uri: str,
        blocks: Iterator[bytes],
        *,
        start_offset: int = 0,
        on_stored: Callable[[bytes], object] | None = None,
    ) -> None:
        self.uri = uri
        self._blocks = blocks
        self._on_stored = on_stored
        self._continue_at = start_offset  # a continuation converts the tail from here (plain files only)
        self.start_offset = start_offset  # where the first piece starts in the decompressed file
        self.stored = 0  # bytes as stored read so far
        self.compression = "none"

    def pieces(self) -> Iterator[bytes]:
        """The decompressed file after its BOM, in pieces each ending with a line end (the last may not)."""
        try:
            yield from self._cut(self._decompressed(self._stored()))
        except OSError as exc:
            raise read_error(self.uri, exc) from exc
        except (InputError, ObjectGone) as exc:
            exc.uri = exc.uri or self.uri
            raise

    def _stored(self) -> Iterator[bytes]:
        for block in self._blocks:
            self.stored += len(block)
            if self._on_stored is not None:
                self._on_stored(block)
            yield block

    def _decompressed(self, stored: Iterator[bytes]) -> Iterator[bytes]:
        head = b""
        for block in stored:
            head += block
            if len(head) >= len(ZSTD_MAGIC):
                break
        self.compression = compression_of(head)
        blocks = chain([head], stored)
        if self.compression != "none" and self._continue_at:
            raise InputError("a compressed file is converted whole only, never continued")
        if self.compression == "gzip":
            return _gunzip(blocks)
        if self.compression == "zstd":
            return _unzstd(blocks)
        return blocks

    def _cut(self, decompressed: Iterable[bytes]) -> Iterator[bytes]:
        """Gather about PIECE_BYTES and hand them on up to their last line end; the rest waits."""
        skip = self._continue_at  # a continuation's prefix was converted before
        sniff = not skip  # a continuation's tail has no BOM to check (as a whole read of it)
        parts: list[bytes] = []
        gathered = 0
        for out in decompressed:
            if skip:
                dropped = min(skip, len(out))
                out, skip = out[dropped:], skip - dropped
            if not out:
                continue
            parts.append(out)
            gathered += len(out)
            if gathered < max(PIECE_BYTES, SNIFF_BYTES if sniff else 0):
                continue
            buffer = b"".join(parts) if len(parts) > 1 else parts[0]
            if sniff:
                buffer, sniff = self._after_bom(buffer), False
            cut = buffer.rfind(b"\n") + 1
            if cut == 0:  # one line longer than a piece: wait for its end
                parts, gathered = [buffer], len(buffer)
                continue
            yield buffer if cut == len(buffer) else buffer[:cut]
            parts = [buffer[cut:]] if cut < len(buffer) else []
            gathered = len(buffer) - cut
        buffer = b"".join(parts)
        if sniff:
            buffer = self._after_bom(buffer)
        if buffer:
            yield buffer

    def _after_bom(self, head: bytes) -> bytes:
        skip = bom_length(head)
        self.start_offset += skip
        return head[skip:] if skip else head


def _gunzip(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress concatenated gzip members (zero padding after a member is ignored, as ``gzip`` does).

    Fed ``_FEED`` bytes at a time: what is left of a feed is copied at each member's end, never the rest
    of a block (a file of many small members would cost its size squared).
    """
    inflater = zlib.decompressobj(wbits=31)
    in_member = False
    members = 0
    try:
        for block in blocks:
            view, position = memoryview(block), 0
            while True:
                if not in_member:
                    if members and position < len(block) and block[position] == 0:
                        position = len(block) - len(block[position:].lstrip(b"\x00"))
                    if position >= len(block):
                        break
                    in_member = True
                feed = view[position : position + _FEED]
                out = inflater.decompress(feed, _INFLATE_MAX)
                if out:
                    yield out
                if inflater.eof:
                    position += len(feed) - len(inflater.unused_data)
                    in_member, members = False, members + 1
                    inflater = zlib.decompressobj(wbits=31)
                    continue
                position += len(feed) - len(inflater.unconsumed_tail)
                if position >= len(block) and len(out) < _INFLATE_MAX:
                    break  # this block is used up (and nothing is held back): the member goes on in the next
    except zlib.error as exc:
        raise InputError(f"corrupt or truncated gzip: {exc}") from exc
    if in_member:
        raise InputError("corrupt or truncated gzip: Compressed file ended before the end-of-stream marker was reached")


def _unzstd(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress concatenated zstd frames, one decompressobj per frame; trailing bytes are corruption."""
    frame = None
    pending = b""  # the start of a frame, until its magic bytes can be checked
    try:
        for block in blocks:
            data = pending + block if pending else block
            view, position, pending = memoryview(data), 0, b""
            while position < len(data):
                if frame is None:
                    if len(data) - position < len(ZSTD_MAGIC):
                        pending = data[position:]
                        break
                    if not data.startswith(ZSTD_MAGIC, position):
                        raise InputError("corrupt zstd: trailing bytes after the last frame")
                    frame = zstandard.ZstdDecompressor().decompressobj()
                feed = view[position : position + _FEED]
                out = frame.decompress(feed)
                position += len(feed)
                if out:
                    yield out
                if frame.eof:
                    position -= len(frame.unused_data)
                    frame = None
    except zstandard.ZstdError as exc:
        raise InputError(f"corrupt or truncated zstd: {exc}") from exc
    if pending:
        raise InputError("corrupt zstd: trailing bytes after the last frame")
    if frame is not None:
        raise InputError("corrupt or truncated zstd: the last frame does not end")
