"""Opening inputs: compression by magic bytes, BOMs, whole-file rejections."""

from __future__ import annotations

import errno
import gzip
import os
from pathlib import Path

import pytest
import zstandard

from ndjson2parquet.conversion.inputs import compression_of, decode, read_input, wide_encoding
from ndjson2parquet.domain.errors import EngineError, InputError, ObjectGone, ResourceExhausted

TEXT = b'{"a":1}\n{"a":2}\n'


def test_magic_bytes_decide_not_the_extension(tmp_path: Path) -> None:
    mislabelled = tmp_path / "plain.ndjson"  # gzip bytes under a plain name
    mislabelled.write_bytes(gzip.compress(TEXT))
    assert decode(read_input(str(mislabelled))).data == TEXT
    fake = tmp_path / "fake.ndjson.gz"  # plain text under a .gz name
    fake.write_bytes(TEXT)
    decoded = decode(read_input(f"file://{fake}"))
    assert (decoded.data, decoded.compression) == (TEXT, "none")


def test_compression_of() -> None:
    assert compression_of(gzip.compress(b"x")[:4]) == "gzip"
    assert compression_of(zstandard.ZstdCompressor().compress(b"x")[:4]) == "zstd"
    assert compression_of(b"{") == "none"


def test_concatenated_gzip_members_and_zstd_frames_are_all_read() -> None:
    assert decode(gzip.compress(TEXT) + gzip.compress(TEXT)).data == TEXT * 2
    frame = zstandard.ZstdCompressor().compress(TEXT)
    assert decode(frame + frame).data == TEXT * 2


def test_zstd_stream_without_content_size() -> None:
    compressor = zstandard.ZstdCompressor()
    chunks = compressor.compressobj()
    raw = chunks.compress(TEXT) + chunks.flush()
    assert decode(raw).data == TEXT


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (gzip.compress(TEXT, mtime=0)[:-6], "gzip"),
        (b"\x1f\x8b" + b"garbage" * 10, "gzip"),
        (zstandard.ZstdCompressor().compress(TEXT * 100)[:-5], "zstd"),
        (zstandard.ZstdCompressor().compress(TEXT) + b"junk", "zstd"),
        ("{}\n".encode("utf-16"), "UTF-16"),
        ("{}\n".encode("utf-32"), "UTF-32"),
        ('{"a":1}\n{"b":2}\n'.encode("utf-16-le"), r"UTF-16 \(little-endian\) without a byte order mark"),
        ('{"a":1}\n{"b":2}\n'.encode("utf-16-be"), r"UTF-16 \(big-endian\) without a byte order mark"),
        ('{"a":1}\n'.encode("utf-32-le"), r"UTF-32 \(little-endian\) without a byte order mark"),
        ('{"a":1}\n'.encode("utf-32-be"), r"UTF-32 \(big-endian\) without a byte order mark"),
        ('\r\n{"ü":"é"}\r\n'.encode("utf-16-le"), "UTF-16"),  # a blank first line, non-ASCII further on
        ("{}".encode("utf-16-le"), "UTF-16"),
    ],
)
def test_unreadable_files_are_rejected_whole(raw: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        decode(raw)


def test_utf8_bom_is_skipped_and_remembered() -> None:
    decoded = decode(b"\xef\xbb\xbf" + TEXT)
    assert (decoded.data, decoded.start_offset) == (TEXT, 3)


def test_a_missing_input_is_gone_not_unreadable_content(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.ndjson")
    for version in ("", "10-1"):  # unregistered, and checked against its registered version
        with pytest.raises(ObjectGone, match="not found") as caught:
            read_input(missing, version=version, size=10)
        assert not isinstance(caught.value, InputError) and caught.value.uri == missing


@pytest.mark.parametrize(
    "raw",
    [
        b'{"\x00":1}\n{"a":2}\n',  # a raw NUL in the first line: that line is bad, not the file
        b'{"a":"\x00"}\n{"a":2}\n',
        b'\x00\n{"a":1}\n',
        b"{}\n\x00\x00\x00\x00\n",
        b'{\x00"\x00\n{"a":1}\n',  # UTF-16 lookalike start, but the next line holds no NUL: UTF-8
        b'{"a":"\\u0000"}\n',  # an escaped NUL is valid JSON
    ],
)
def test_valid_utf8_with_a_nul_near_the_start_is_read_as_utf8(raw: bytes) -> None:
    assert wide_encoding(raw) is None
    assert decode(raw).data == raw


def test_a_file_whose_permission_is_refused_is_rejected_by_name() -> None:
    def refuse(uri: str) -> bytes:
        raise PermissionError(13, "Permission denied", uri)

    with pytest.raises(InputError, match=r"input not readable \(Permission denied\): /in/a.ndjson") as caught:
        decode(read_input("/in/a.ndjson", refuse))
    assert caught.value.uri == "/in/a.ndjson"


def test_special_files_are_rejected_without_being_opened(tmp_path: Path) -> None:
    folder = tmp_path / "folder.ndjson"
    folder.mkdir()
    pipe = tmp_path / "pipe.ndjson"
    os.mkfifo(pipe)  # opened for reading, it would block until a writer comes: forever
    with pytest.raises(InputError, match=r"not a regular file \(a folder\)"):
        decode(read_input(str(folder)))
    with pytest.raises(InputError, match=r"not a regular file \(a named pipe\)"):
        decode(read_input(f"file://{pipe}"))
    with pytest.raises(InputError, match=r"not a regular file \(a device\)"):
        decode(read_input("/dev/zero"))  # would never end


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(errno.EIO, "Input/output error"), EngineError),  # a failing disk or network share: retried
        (OSError(errno.ESTALE, "Stale file handle"), EngineError),
        (OSError(errno.EMFILE, "Too many open files"), ResourceExhausted),  # not the file's fault: the run stops
        (OSError(errno.ENOMEM, "Cannot allocate memory"), ResourceExhausted),
        (OSError(errno.ELOOP, "Too many levels of symbolic links"), InputError),
        (IsADirectoryError(errno.EISDIR, "Is a directory"), InputError),
    ],
)
def test_read_errors_are_rejections_retries_or_a_stop_by_their_cause(error: OSError, expected: type) -> None:
    def fail(uri: str) -> bytes:
        raise error

    with pytest.raises(expected, match=r"/in/a\.ndjson") as caught:
        decode(read_input("/in/a.ndjson", fail))
    assert type(caught.value) is expected and caught.value.uri == "/in/a.ndjson"
    assert caught.value.transient is (expected is EngineError)
