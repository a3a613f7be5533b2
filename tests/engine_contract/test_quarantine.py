"""Bad lines go to the manifest's quarantine file with their source, line, byte offset, reason and raw text."""

from __future__ import annotations

import base64
import gzip

import orjson
import pytest

from tests.engine_contract.case import EngineCase

#: (line, the start of its quarantine reason; None: the line is a row; "" a blank line)
LINES: list[tuple[bytes, str | None]] = [
    (b'\xef\xbb\xbf{"n":1}', None),  # the BOM is skipped, its 3 bytes still count in offsets
    (b"broken", "malformed JSON"),
    (b"[1,2]", "not an object"),
    (b'"text"', "not an object"),
    (b'{"n":2} {"n":3}', "several JSON values on one line"),
    (b'{"n":NaN}', "NaN or Infinity is not JSON"),
    (b'{"n":"\xff"}', "invalid UTF-8"),
    (b'{"n":4}x', "trailing content"),
    (b'{"n":5', "malformed JSON"),
    (b'{"n":"\\ud800"}', "invalid JSON string: lone surrogate"),
    (b"   ", ""),
    (b'{"n":6}\r', None),
    (b"\x0c", "malformed JSON"),  # a form feed is not JSON whitespace
    (b'{"n":7}', None),
]


def expected_records(uri: str, lines: list[tuple[bytes, str | None]]) -> list[dict[str, object]]:
    """The quarantine records of `lines`, offsets counted over the decompressed bytes."""
    records, offset = [], 0
    for number, (line, reason) in enumerate(lines, 1):
        if reason:
            try:
                raw = {"raw": line.decode("utf-8")}
            except UnicodeDecodeError:
                raw = {"raw": base64.b64encode(line).decode(), "raw_encoding": "base64"}
            records.append({"source": uri, "line": number, "offset": offset, "reason": reason, **raw})
        offset += len(line) + 1
    return records


def check(actual: list[dict[str, object]], expected: list[dict[str, object]]) -> None:
    """Records equal, the reason compared by its documented start (its detail may vary with the parser)."""
    assert len(actual) == len(expected)
    for got, want in zip(sorted(actual, key=lambda r: (r["source"], r["line"])), expected, strict=True):
        assert str(got["reason"]).startswith(str(want["reason"])), (got, want)
        assert {**got, "reason": want["reason"]} == want


@pytest.mark.parametrize("compression", ["plain", "gz"])
def test_each_bad_line_is_quarantined_with_where_it_was_why_and_its_raw_text(
    engine_case: EngineCase, compression: str
) -> None:
    body = b"\n".join(line for line, _ in LINES) + b"\n"
    name = "mixed.ndjson" if compression == "plain" else "mixed.ndjson.gz"
    input_file = engine_case.put_input(name, body if compression == "plain" else gzip.compress(body))
    result = engine_case.convert([input_file])

    check(engine_case.quarantined(result), expected_records(input_file.uri, LINES))
    assert result.quarantine_path == engine_case.quarantine_url("m1")
    assert sorted(row["n"] for row in engine_case.rows(result)) == [1, 6, 7]
    ledger = result.ledgers[input_file.file_id]
    bad = sum(1 for _, reason in LINES if reason)
    assert (ledger.lines, ledger.blank, ledger.rows_written, ledger.rows_quarantined) == (len(LINES), 1, 3, bad)
    assert result.rows_quarantined == bad and result.rows_written == 3


def test_bad_lines_among_many_good_ones_in_several_files_are_found_exactly(engine_case: EngineCase) -> None:
    """Bad lines hidden in big clean stretches (an engine's fast path must still place them exactly)."""
    files, expected = [], []
    for index in range(3):
        lines: list[tuple[bytes, str | None]] = []
        for n in range(5000):
            lines.append((orjson.dumps({"id": n, "file": index, "pad": "x" * (n % 40)}), None))
        lines[1234 + index] = (b'{"id": "cut', "malformed JSON")
        lines[4321] = (b'{"id":1,"id2":NaN}', "NaN or Infinity is not JSON")
        lines[4999] = (b"[]", "not an object")
        input_file = engine_case.put_input(f"big-{index}.ndjson", b"\n".join(line for line, _ in lines) + b"\n")
        files.append(input_file)
        expected += expected_records(input_file.uri, lines)
    result = engine_case.convert(files)

    check(engine_case.quarantined(result), expected)
    for input_file in files:
        ledger = result.ledgers[input_file.file_id]
        assert (ledger.lines, ledger.blank, ledger.rows_written, ledger.rows_quarantined) == (5000, 0, 4997, 3)
    assert len(engine_case.rows(result)) == result.rows_written == 3 * 4997


def test_a_line_longer_than_the_limit_is_quarantined_with_the_start_of_its_text(engine_case: EngineCase) -> None:
    long_line = orjson.dumps({"text": "y" * 5000})
    input_file = engine_case.put_input("long.ndjson", b'{"n":1}\n' + long_line + b'\n{"n":2}\n')
    result = engine_case.convert([input_file], max_line_bytes=1000)
    (record,) = engine_case.quarantined(result)
    assert (record["source"], record["line"], record["offset"]) == (input_file.uri, 2, 8)
    assert record["reason"].startswith("line longer than max_line_bytes") and record["raw_truncated"] is True
    assert long_line.decode().startswith(record["raw"]) and record["raw"]
    assert sorted(row["n"] for row in engine_case.rows(result)) == [1, 2]


def test_a_manifest_without_bad_lines_writes_no_quarantine_file(engine_case: EngineCase) -> None:
    result = engine_case.convert([engine_case.put_input("clean.ndjson", b'{"n":1}\n\n')])
    assert result.quarantine_path is None and result.rows_quarantined == 0
    assert engine_case.objects.list(engine_case.quarantine_root) == []
