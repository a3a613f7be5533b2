"""Opening input files: bytes in, decompressed UTF-8 text out, or a whole-file rejection with a reason.

Compression is decided by magic bytes (gzip ``1f 8b``, zstd ``28 b5 2f fd``), whatever the extension
says: a ``.gz`` that is plain text is read as plain text, and a compressed file without an extension
is decompressed. Several concatenated gzip members or zstd frames are all read.

A whole file is rejected (``InputError``, which the engine turns into the ledger's ``rejection``) when
it cannot be decompressed (corrupt or truncated gzip/zstd), is not in UTF-8 (see ``wide_encoding``),
or cannot be read at all: not a regular file (a folder, a named pipe, a socket or a device put
where a file was: never opened for reading, so a pipe cannot hang the run), no permission, or
another error that only the file's path can cause (``PERMANENT_ERRNOS``). A file that is not there
(deleted, moved) is ``ObjectGone``, never confused with unreadable content: the engine rejects it
with the reason ``domain.records.GONE``, which ``retry`` re-drives once it is back.

Other read errors are not the file's fault: running out of disk, memory or file handles is
``ResourceExhausted`` (the run stops, nothing is spent); any other (``EIO``, ``ESTALE``,
``ETIMEDOUT``, ...: a failing disk or network file system) is a transient ``EngineError`` naming the
file: its manifest is retried, and after ``max_attempts`` its files are ``FAILED`` (dead letters that
``retry`` puts back), never ``REJECTED``, since the file itself may be fine.
"""

from __future__ import annotations

import errno
import gzip
import os
import re
import stat
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import zstandard

from ..domain.errors import (
    EngineError,
    InputChanged,
    InputError,
    ObjectGone,
    PipelineError,
    ResourceExhausted,
    exhaustion,
)
from ..domain.records import local_version

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = {
    b"\x00\x00\xfe\xff": "UTF-32 (big-endian)",
    b"\xff\xfe\x00\x00": "UTF-32 (little-endian)",
    b"\xfe\xff": "UTF-16 (big-endian)",
    b"\xff\xfe": "UTF-16 (little-endian)",
}

# Code units of ASCII text in each wide encoding without a BOM: two at the start tell it (see wide_encoding).
_WIDE_STARTS = (
    ("UTF-32 (big-endian)", re.compile(rb"(?:\x00\x00\x00[\x01-\x7f]){2}")),
    ("UTF-32 (little-endian)", re.compile(rb"(?:[\x01-\x7f]\x00\x00\x00){2}")),
    ("UTF-16 (big-endian)", re.compile(rb"(?:\x00[\x01-\x7f]){2}")),
    ("UTF-16 (little-endian)", re.compile(rb"(?:[\x01-\x7f]\x00){2}")),
)
SNIFF_BYTES = 4096
#: read errors only the file's path can cause: the file is rejected, retrying would not help
PERMANENT_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.ELOOP, errno.ENAMETOOLONG, errno.ENXIO, errno.ENODEV}
)
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))

Opener = Callable[[str], bytes]  # uri -> the object's bytes as stored


@dataclass(frozen=True, slots=True)
class DecodedInput:
    """A file's decompressed bytes, with the BOM (if any) skipped."""

    data: bytes
    start_offset: int  # where `data` starts in the decompressed file (3 after a UTF-8 BOM)
    compression: str  # none, gzip, zstd


def read_local(uri: str) -> bytes:
    """Read a local regular file (a plain path or ``file://`` URI); InputError for anything else."""
    fd, status = _open_regular(uri)
    try:
        size = status.st_size
        data = os.read(fd, size + 1)  # one byte more: a file that grew meanwhile is read to its end
        if len(data) <= size:
            return data
        parts = [data]
        while more := os.read(fd, 1 << 24):
            parts.append(more)
        return b"".join(parts)
    finally:
        os.close(fd)


def _open_regular(uri: str) -> tuple[int, os.stat_result]:
    """An open descriptor of a regular file, and its status; InputError for a special file.

    A special file put where a file was is never read (a named pipe would block the read forever, a
    device might never end): it is opened non-blocking, so that even the open of a pipe returns at
    once, and its type is checked on the descriptor before any read. (No `stat` before the open: on
    100,000 small files it cost as much as the reads.)
    """
    path = uri[len("file://") :] if uri.startswith("file://") else uri
    # Bare descriptor calls: at 100,000 small files, a file object's own cost is a third of the read.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        status = os.fstat(fd)
        _require_regular(status.st_mode, uri)
    except BaseException:
        os.close(fd)
        raise
    return fd, status


def _require_regular(mode: int, uri: str) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "a device")
    raise InputError(f"not a regular file ({kind}): {uri}", uri=uri)


def read_local_version(uri: str, version: str, size: int) -> bytes:
    """Read exactly the registered version of a local file, or raise InputChanged.

    Size and modification time come from the descriptor the bytes are read through (``fstat``), so
    a file replaced or touched between the check and the read cannot pass; a file that grows while
    it is read is caught by reading one byte more than the registered size.
    """
    try:
        fd, st = _open_regular(uri)
    except FileNotFoundError as exc:
        raise ObjectGone(f"input not found: {uri}", uri=uri) from exc
    try:
        if local_version(st.st_size, st.st_mtime_ns) != version:
            raise InputChanged(f"size or modification time differ from the registered version ({version})")
        data = os.read(fd, size + 1)
        while len(data) < size and (more := os.read(fd, 1 << 24)):
            data += more
    finally:
        os.close(fd)
    if len(data) != size:
        raise InputChanged(f"{len(data)} bytes read, the registered version has {size}")
    return data


def compression_of(head: bytes) -> str:
    """The compression the first bytes announce: ``gzip``, ``zstd`` or ``none``."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


def decompress(raw: bytes) -> tuple[bytes, str]:
    """Decompress by magic bytes; raises InputError when the stream is corrupt or truncated."""
    kind = compression_of(raw[:4])
    if kind == "gzip":
        try:
            return gzip.decompress(raw), kind
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"corrupt or truncated gzip: {exc}") from exc
    if kind == "zstd":
        return _unzstd(raw), kind
    return raw, kind


def _unzstd(raw: bytes) -> bytes:
    chunks: list[bytes] = []
    remaining = raw
    try:
        # One decompressobj per frame: it stops at a frame's end and hands back what follows.
        while remaining:
            decompressor = zstandard.ZstdDecompressor().decompressobj()
            chunks.append(decompressor.decompress(remaining))
            if not decompressor.eof:
                raise InputError("corrupt or truncated zstd: the last frame does not end")
            remaining = decompressor.unused_data
            if remaining and not remaining.startswith(ZSTD_MAGIC):
                raise InputError("corrupt zstd: trailing bytes after the last frame")
    except zstandard.ZstdError as exc:
        raise InputError(f"corrupt or truncated zstd: {exc}") from exc
    return b"".join(chunks)


def decode(raw: bytes) -> DecodedInput:
    """Decompress and check the encoding of one whole file; raises InputError to reject it."""
    data, kind = decompress(raw)
    skip = bom_length(data)
    return DecodedInput(data[skip:] if skip else data, skip, kind)


def bom_length(head: bytes) -> int:
    """How many bytes of a UTF-8 BOM start the decompressed ``head`` (0 or 3); InputError for UTF-16/32.

    ``head`` is the file's start: at least ``SNIFF_BYTES`` of it when the file has that many.
    """
    for bom, name in _WIDE_BOMS.items():
        if head.startswith(bom):
            raise InputError(f"undecodable encoding: {name} (only UTF-8 is read)")
    wide = wide_encoding(head)
    if wide is not None:
        raise InputError(f"undecodable encoding: {wide} without a byte order mark (only UTF-8 is read)")
    return len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0


def wide_encoding(data: bytes) -> str | None:
    """The UTF-16/UTF-32 flavour of a file without a BOM, or None: read it as UTF-8.

    Such a file of ASCII JSON starts with two ASCII characters padded with NULs (``{\\x00"\\x00``) and
    every line of it, cut at ``\\n`` bytes, holds NULs. Both must hold over its first bytes: UTF-8 JSON
    lines hold no NUL (a raw NUL is invalid JSON), so a UTF-8 file with a NUL in its first line is
    read as UTF-8 and only that line is quarantined. (A UTF-8 file whose every line is NUL-padded
    ASCII is indistinguishable from UTF-16, and rejected as such.)
    """
    if b"\x00" not in data[:4]:
        return None  # every wide pattern has a NUL in its first four bytes
    head = data[:SNIFF_BYTES]
    for name, start in _WIDE_STARTS:
        if start.match(head) and all(b"\x00" in line for line in head.split(b"\n") if line):
            return name
    return None


def read_input(uri: str, opener: Opener = read_local, version: str = "", size: int = 0) -> bytes:
    """The stored bytes of one input: with ``version``, exactly the registered version's ``size`` bytes.

    Raises InputError (InputChanged: not the registered version any more) for a file that cannot be
    used at all, ObjectGone for one that is not there, ResourceExhausted or a transient EngineError
    for a read error that is not the file's fault (module doc); each names the file.
    """
    try:
        if opener is read_local and version:
            return read_local_version(uri, version, size)
        raw = opener(uri)
    except (InputError, ObjectGone) as exc:
        exc.uri = exc.uri or uri
        raise
    except OSError as exc:
        raise read_error(uri, exc) from exc
    if version and len(raw) != size:
        raise InputChanged(f"{len(raw)} bytes read, the registered version has {size}", uri=uri)
    return raw


def read_error(uri: str, exc: OSError) -> PipelineError:
    """What a failed read of ``uri`` means: a rejection, gone, a stop for lack of resources, or a transient error."""
    exhausted = exhaustion(exc)
    if exhausted is not None:
        return ResourceExhausted(f"{os.strerror(exc.errno) if exc.errno else exhausted} while reading {uri}", uri=uri)
    if isinstance(exc, FileNotFoundError):
        return ObjectGone(f"input not found: {uri}", uri=uri)
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    if exc.errno in PERMANENT_ERRNOS:
        return InputError(f"input not readable ({reason}): {uri}", uri=uri)
    return EngineError(f"reading {uri} failed ({type(exc).__name__}: {reason}); will retry", transient=True, uri=uri)
