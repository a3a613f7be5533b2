"""Opening inputs: compression by magic bytes, BOMs, whole-file rejections."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import zstandard

from ndjson2parquet.conversion.inputs import compression_of, decode, open_input
from ndjson2parquet.domain.errors import InputError

TEXT = b'{"a":1}\n{"a":2}\n'


def test_magic_bytes_decide_not_the_extension(tmp_path: Path) -> None:
    mislabelled = tmp_path / "plain.ndjson"  # gzip bytes under a plain name
    mislabelled.write_bytes(gzip.compress(TEXT))
    assert open_input(str(mislabelled)).data == TEXT
    fake = tmp_path / "fake.ndjson.gz"  # plain text under a .gz name
    fake.write_bytes(TEXT)
    decoded = open_input(f"file://{fake}")
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
        ("{}\n".encode("utf-16-le"), "NUL bytes"),
        ("{}\n".encode("utf-32"), "UTF-32"),
    ],
)
def test_unreadable_files_are_rejected_whole(raw: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        decode(raw)


def test_utf8_bom_is_skipped_and_remembered() -> None:
    decoded = decode(b"\xef\xbb\xbf" + TEXT)
    assert (decoded.data, decoded.start_offset) == (TEXT, 3)


def test_missing_input_is_a_rejection(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        open_input(str(tmp_path / "gone.ndjson"))
