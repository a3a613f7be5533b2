"""Big and remote inputs are read as a stream of blocks: the same rows, lines, offsets and digest as a whole read.

The thresholds are made tiny here (a file of a few hundred KiB is "big", pieces of a few KiB), so a
file is streamed in many blocks and pieces, cut at line ends, across gzip members and zstd frames.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
import zstandard

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion import input_stream
from ndjson2parquet.conversion.arrow import reading
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, InputFile
from ndjson2parquet.conversion.input_stream import InputStream
from ndjson2parquet.conversion.inputs import decode
from ndjson2parquet.domain.errors import InputError, ObjectGone, TransientError
from ndjson2parquet.domain.records import CHANGED_SINCE_REGISTRATION, GONE, content_digest, local_version
from ndjson2parquet.storage.base import Storage
from ndjson2parquet.storage.routing import RoutingStorage
from tests.support.flaky_storage import FlakyStorage

SPECIAL = {
    10: b"",  # blank
    20: b"broken",  # quarantined while screening
    30: b'{"id":30,"v":"text"}',  # a misfit: rescued, or (strict) quarantined after the parse: its offset is looked up
    45: b'{"id":45,"v":18446744073709551616}',  # exact path
    2500: b'{"id":2500,"v":"late misfit"}',  # in a later piece: the lookup goes on reading
}


@pytest.fixture(autouse=True)
def _tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(input_stream, "READ_BLOCK", 3001)
    monkeypatch.setattr(input_stream, "PIECE_BYTES", 4096)
    monkeypatch.setattr(input_stream, "_FEED", 777)
    monkeypatch.setattr(input_stream, "_INFLATE_MAX", 5000)


def text(count: int = 3000) -> bytes:
    lines = [SPECIAL.get(i, orjson.dumps({"id": i, "v": i, "pad": "x" * (i % 37)})) for i in range(count)]
    return b"\n".join(lines) + b"\n"


def job_for(files: Iterable[InputFile], root: Path, **options: Any) -> ConversionJob:
    return ConversionJob(
        "m1", "events", "2026-11-25", tuple(files), str(root / "lake"), str(root / "q"), ConversionOptions(**options)
    )


def local_files(paths: list[Path], versioned: bool = False) -> list[InputFile]:
    files = []
    for i, path in enumerate(paths):
        st = path.stat()
        version = local_version(st.st_size, st.st_mtime_ns) if versioned else ""
        files.append(InputFile(f"f{i}", str(path), st.st_size, version))
    return files


def streaming(storage: Storage | None = None) -> ArrowEngine:
    engine = ArrowEngine(RoutingStorage(s3=storage))
    engine.stream_bytes = 0  # every file is "big"
    return engine


def outcome(result: ConversionResult) -> dict[str, Any]:
    """Everything a conversion says about its inputs: rows with their lineage, ledgers, quarantined lines."""
    rows = [row for o in result.outputs for row in pq.read_table(o.path).to_pylist()]
    bad = []
    if result.quarantine_path:
        bad = [json.loads(line) for line in Path(result.quarantine_path).read_text().splitlines()]
    # the parts' names, not their folders: the two ways write under different roots
    ledgers = {k: replace(v, outputs=tuple(Path(o).name for o in v.outputs)) for k, v in result.ledgers.items()}
    return {"rows": rows, "ledgers": ledgers, "bad": [(b["source"], b["line"], b["offset"]) for b in bad]}


def both_ways(files: list[InputFile], root: Path, **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    whole = ArrowEngine().convert(job_for(files, root / "whole", **options))
    streamed = streaming().convert(job_for(files, root / "streamed", **options))
    return outcome(whole), outcome(streamed)


def compressed(kind: str, data: bytes, pieces: int = 5) -> bytes:
    """``data`` as several gzip members or zstd frames (cut anywhere, even inside a line)."""
    step = len(data) // pieces + 1
    chunks = [data[i : i + step] for i in range(0, len(data), step)]
    if kind == "gzip":
        return b"".join(gzip.compress(c, mtime=0) for c in chunks)
    return b"".join(zstandard.ZstdCompressor().compress(c) for c in chunks)


@pytest.mark.parametrize("kind", ["plain", "bom", "gzip", "zstd"])
@pytest.mark.parametrize("strict", [False, True])
def test_a_streamed_file_gives_the_rows_lines_offsets_and_digest_of_a_whole_read(
    tmp_path: Path, kind: str, strict: bool
) -> None:
    data = text()
    raw = {"plain": data, "bom": b"\xef\xbb\xbf" + data}.get(kind) or compressed(kind, data)
    path = tmp_path / "big.ndjson"
    path.write_bytes(raw)
    other = tmp_path / "small.ndjson"
    other.write_bytes(b'{"id":-1,"v":0}\n{"id":-2')  # a last line without a newline is a line
    files = local_files([other, path, other], versioned=True)
    whole, streamed = both_ways(files, tmp_path, lineage=True, strict=strict)
    assert streamed == whole
    ledger = streamed["ledgers"]["f1"]
    assert ledger.digest == content_digest(raw) and ledger.end_offset == len(raw) and ledger.lines == 3000
    assert ledger.rejection is None and len(streamed["rows"]) > 2900
    assert (str(path), 21, len(b"\n".join(text(20).splitlines()[:20])) + 1 + (3 if kind == "bom" else 0)) in [
        tuple(b) for b in streamed["bad"]
    ]


def test_a_streamed_continuation_converts_only_its_tail_with_lines_and_offsets_going_on(tmp_path: Path) -> None:
    data = text()
    head = data[: data.index(b"\n", 50_000) + 1]
    path = tmp_path / "grown.ndjson"
    path.write_bytes(data)
    tail = InputFile("f0", str(path), len(data), start_offset=len(head), first_line=head.count(b"\n") + 1)
    whole, streamed = both_ways([tail], tmp_path, lineage=True, strict=True)
    assert streamed == whole and streamed["ledgers"]["f0"].digest == content_digest(data)
    assert streamed["rows"][0]["_source_line"] == head.count(b"\n") + 1


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_the_stream_decompresses_every_gzip_member_and_zstd_frame(kind: str) -> None:
    data = text()
    raw = compressed(kind, data, pieces=40) + (b"\x00" * 9 if kind == "gzip" else b"")  # gzip's zero padding
    blocks = [raw[i : i + 1000] for i in range(0, len(raw), 1000)]
    stream = InputStream("u", iter(blocks))
    pieces = list(stream.pieces())
    assert b"".join(pieces) == decode(raw).data == data
    assert len(pieces) > 10 and all(p.endswith(b"\n") for p in pieces)  # cut at line ends
    assert (stream.compression, stream.stored) == (kind, len(raw))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (gzip.compress(text())[:-10], "truncated gzip"),
        (zstandard.ZstdCompressor().compress(text())[:-5], "truncated zstd"),
        (zstandard.ZstdCompressor().compress(text()) + b"ju", "trailing bytes"),
        (gzip.compress(text()) + b"junk" * 10, "corrupt or truncated gzip"),
        (text().decode().encode("utf-16"), "UTF-16"),
    ],
)
def test_a_corrupt_stream_is_an_input_error(raw: bytes, reason: str) -> None:
    blocks = [raw[i : i + 1000] for i in range(0, len(raw), 1000)]
    with pytest.raises(InputError, match=reason):
        list(InputStream("u", iter(blocks)).pieces())


def test_a_file_found_corrupt_at_its_end_is_rejected_alone_and_the_rest_converts(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ndjson.gz"
    broken.write_bytes(gzip.compress(text())[:-10])  # its pieces are handed on before the end shows it
    good = tmp_path / "good.ndjson"
    good.write_bytes(b'{"id":1,"v":1}\n{"id":2,"v":2}\n')
    result = streaming().convert(job_for(local_files([good, broken, good]), tmp_path, lineage=True))
    assert result.ledgers["f1"].rejection.startswith("corrupt or truncated gzip")
    assert result.ledgers["f1"].lines == 0 and result.ledgers["f1"].rows_written == 0
    rows = outcome(result)["rows"]
    assert [(r["_source_file"], r["id"]) for r in rows] == [(str(good), 1), (str(good), 2)] * 2
    assert result.rows_written == 4 and result.bytes_in == 2 * good.stat().st_size


def test_a_file_that_grows_while_it_is_streamed_is_not_converted_under_its_version(tmp_path: Path) -> None:
    path = tmp_path / "a.ndjson"
    path.write_bytes(text())
    (registered,) = local_files([path], versioned=True)
    grown = InputFile("f0", registered.uri, registered.size - 100, registered.version)  # read finds 100 more
    result = streaming().convert(job_for([grown], tmp_path))
    assert result.ledgers["f0"].rejection.startswith(CHANGED_SINCE_REGISTRATION)
    assert "grew while read" in result.ledgers["f0"].rejection and result.outputs == ()


@pytest.mark.parametrize("stream", [False, True])
def test_a_file_deleted_before_it_is_read_is_gone_not_unreadable(tmp_path: Path, stream: bool) -> None:
    good, doomed = tmp_path / "good.ndjson", tmp_path / "doomed.ndjson"
    good.write_bytes(b'{"id":1}\n')
    doomed.write_bytes(b'{"id":2}\n')
    files = local_files([good, doomed], versioned=True)
    files.append(InputFile("f2", str(doomed), doomed.stat().st_size))  # without a version to check
    doomed.unlink()
    engine = streaming() if stream else ArrowEngine()
    result = engine.convert(job_for(files, tmp_path))
    for file_id in ("f1", "f2"):
        assert result.ledgers[file_id].rejection == f"{GONE} (input not found: {doomed})"
    assert result.ledgers["f0"].rejection is None and result.rows_written == 1


def test_a_remote_object_is_streamed_through_the_storage_as_a_local_file_is_read(tmp_path: Path) -> None:
    data = text()
    raw = compressed("gzip", data)
    path = tmp_path / "a.ndjson.gz"
    path.write_bytes(raw)
    storage = FlakyStorage()
    storage.objects["s3://b/a.ndjson.gz"] = raw
    remote = InputFile("f0", "s3://b/a.ndjson.gz", len(raw), "etag")
    streamed = ArrowEngine(RoutingStorage(s3=storage)).convert(job_for([remote], tmp_path / "remote", strict=True))
    whole = ArrowEngine().convert(job_for(local_files([path]), tmp_path / "local", strict=True))
    assert outcome(streamed)["ledgers"] == outcome(whole)["ledgers"]
    assert outcome(streamed)["rows"] == outcome(whole)["rows"]
    assert [b[1:] for b in outcome(streamed)["bad"]] == [b[1:] for b in outcome(whole)["bad"]]


@pytest.mark.parametrize("after", [0, 5000])  # before the first byte, and midway (pieces handed on already)
def test_a_transient_storage_error_fails_the_attempt_and_never_rejects_the_file(tmp_path: Path, after: int) -> None:
    storage = FlakyStorage()
    storage.objects["s3://b/a.ndjson"] = text()
    storage.failures["s3://b/a.ndjson"] = [TransientError("SlowDown: throttled")]
    storage.fail_after = after
    remote = InputFile("f0", "s3://b/a.ndjson", len(text()), "etag")
    with pytest.raises(TransientError, match="throttled") as caught:
        ArrowEngine(RoutingStorage(s3=storage)).convert(job_for([remote], tmp_path))
    assert caught.value.transient and caught.value.uri == "s3://b/a.ndjson"
    assert not list((tmp_path / "lake").rglob("*.parquet"))  # nothing of the attempt is left
    assert ArrowEngine(RoutingStorage(s3=storage)).convert(job_for([remote], tmp_path)).ledgers["f0"].rejection is None


@pytest.mark.parametrize("after", [0, 5000])
def test_an_object_deleted_while_it_is_read_is_gone_and_the_rest_converts(tmp_path: Path, after: int) -> None:
    storage = FlakyStorage()
    storage.objects["s3://b/a.ndjson"] = storage.objects["s3://b/b.ndjson"] = text()
    storage.failures["s3://b/a.ndjson"] = [ObjectGone("NoSuchKey: s3://b/a.ndjson")]
    storage.fail_after = after
    files = [InputFile(f"f{i}", f"s3://b/{n}.ndjson", len(text()), "etag") for i, n in enumerate("ab")]
    result = ArrowEngine(RoutingStorage(s3=storage)).convert(job_for(files, tmp_path))
    assert result.ledgers["f0"].rejection == f"{GONE} (NoSuchKey: s3://b/a.ndjson)"
    assert result.ledgers["f1"].rejection is None and result.ledgers["f1"].lines == 3000
    assert result.ledgers["f0"].lines == 0 and result.rows_written == result.ledgers["f1"].rows_written


def test_small_files_read_ahead_in_batches_come_in_order_around_streamed_and_rejected_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "READ_AHEAD_FILES", 3)
    paths = []
    for i in range(20):
        path = tmp_path / f"f{i:02d}.ndjson"
        path.write_bytes(orjson.dumps({"id": i}) + b"\n" if i != 7 else gzip.compress(b"x")[:-4])  # 7: corrupt
        paths.append(path)
    big = tmp_path / "big.ndjson"
    big.write_bytes(text(200))
    paths.insert(11, big)
    engine = ArrowEngine()
    engine.stream_bytes = big.stat().st_size - 1  # only the big one is streamed
    result = engine.convert(job_for(local_files(paths), tmp_path, lineage=True))
    rows = outcome(result)["rows"]
    sources = [Path(r["_source_file"]).name for r in rows]
    expected = [p.name for p in paths if p != paths[7] for _ in range(198 if p == big else 1)]  # big: 2 bad lines
    assert sources == expected  # every file's rows, in the manifest's order
    assert result.ledgers["f7"].rejection.startswith("corrupt or truncated gzip")
    assert [result.ledgers[f"f{i}"].digest for i in range(21)] == [content_digest(p.read_bytes()) for p in paths]
