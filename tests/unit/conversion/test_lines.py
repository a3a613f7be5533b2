"""Line accounting and screening: every line is blank, a row, exact (Python) or quarantined."""

from __future__ import annotations

import base64

import pytest

from ndjson2parquet.conversion.lines import (
    MAX_DEPTH,
    BigNumber,
    DuplicateKeys,
    LineRejected,
    ScreenedFile,
    parse_exact,
    screen,
)


def run(data: bytes, max_line_bytes: int = 1 << 20, start: int = 0) -> ScreenedFile:
    result = screen(data, start_offset=start, max_line_bytes=max_line_bytes)
    assert result.lines == result.blank + len(result.rows) + len(result.exact) + len(result.bad)
    return result


def test_lines_rows_and_offsets() -> None:
    result = run(b'{"a":1}\n{"a":2}\n')
    assert (result.lines, result.rows, result.row_lines, result.row_offsets) == (
        2,
        [b'{"a":1}', b'{"a":2}'],
        [1, 2],
        [0, 8],
    )


def test_crlf_is_stripped_and_counted_once() -> None:
    result = run(b'{"a":1}\r\n\r\n{"a":2}\r\n')
    assert result.lines == 3 and result.blank == 1 and result.rows == [b'{"a":1}', b'{"a":2}']
    assert result.row_offsets == [0, 11]


def test_final_line_without_newline_is_a_line() -> None:
    result = run(b'{"a":1}\n{"a":2}')
    assert result.lines == 2 and len(result.rows) == 2


def test_blank_and_whitespace_lines() -> None:
    result = run(b'\n   \n\t\n{"a":1}\n \r\n \t\r\r\n')
    assert (result.lines, result.blank, len(result.rows)) == (6, 5, 1)


@pytest.mark.parametrize("line", [b"\x0c", b"\x0b", b" \x0c\t", b"\t\x0b \r", b"\x0c\x0b"])
def test_a_line_of_form_feeds_or_vertical_tabs_is_quarantined_not_blank(line: bytes) -> None:
    result = run(b'{"a":1}\n' + line + b'\n \t\n{"a":2}\n')
    assert (result.lines, result.blank, len(result.rows)) == (4, 1, 2)
    [bad] = result.bad
    assert (bad.line, bad.offset) == (2, 8)
    assert bad.reason == "malformed JSON: whitespace JSON does not allow (form feed or vertical tab)"


def test_empty_file_has_no_line() -> None:
    assert run(b"").lines == 0


def test_offsets_count_a_skipped_bom() -> None:
    assert run(b'{"a":1}\n{"a":2}\n', start=3).row_offsets == [3, 11]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"a":1', "malformed JSON"),
        (b'{"a":NaN}', "NaN or Infinity is not JSON"),
        (b'{"a":-Infinity}', "NaN or Infinity is not JSON"),
        (b"[1,2]", "not an object"),
        (b'"text"', "not an object"),
        (b"42", "not an object"),
        (b"null", "not an object"),
        (b'{"a":1}{"b":2}', "several JSON values on one line"),
        (b'{"a":1}\r{"b":2}', "several JSON values on one line"),  # a bare CR is no line break
        (b'{"a":1} x', "trailing content"),
        (b'{"a":1}\x0c', "trailing content"),  # a form feed is no JSON whitespace
        (b'{\x0b"a":1}', "malformed JSON"),
        (b'{"a":"\\udfaa"}', "invalid JSON string: lone surrogate"),
        (b'{"\\ud800":1}', "invalid JSON string: lone surrogate"),
        (b'{"a":{"b":["x","\\ud800y"]}}', "invalid JSON string: lone surrogate"),
        (b'{"a":"\xff"}', "invalid UTF-8"),
        (b"[" * 100_000, "nesting too deep"),
        (b'{"a":' + b"[" * (MAX_DEPTH + 5) + b"]" * (MAX_DEPTH + 5) + b"}", "nesting too deep"),
    ],
)
def test_bad_lines_are_quarantined_with_a_reason(line: bytes, reason: str) -> None:
    result = run(b'{"ok":1}\n' + line + b"\n")
    assert len(result.rows) == 1 and len(result.bad) == 1
    bad = result.bad[0]
    assert bad.reason.startswith(reason), bad.reason
    assert (bad.line, bad.offset) == (2, 9)


def test_invalid_utf8_raw_is_base64() -> None:
    record = run(b'{"a":"\xff"}\n').bad[0].record("s3://b/k")
    assert record["raw_encoding"] == "base64" and base64.b64decode(record["raw"]) == b'{"a":"\xff"}'
    assert (record["source"], record["line"], record["offset"]) == ("s3://b/k", 1, 0)


def test_giant_line_is_quarantined_and_its_raw_truncated() -> None:
    giant = b'{"a":"' + b"x" * 5000 + b'"}'
    result = run(b'{"a":1}\n' + giant + b"\n", max_line_bytes=1000)
    record = result.bad[0].record("f")
    assert "max_line_bytes" in record["reason"] and record["raw_truncated"] is True
    assert len(result.rows) == 1


@pytest.mark.parametrize("line", [b'{"a":123456789012345678901234567890}', b'{"a":1e999}'])
def test_valid_json_the_fast_parsers_refuse_goes_to_python(line: bytes) -> None:
    result = run(line + b"\n")
    assert [text for _, _, text in result.exact] == [line]


def test_exact_parse_keeps_big_integers_and_duplicates() -> None:
    value = parse_exact(b'{"a":123456789012345678901234567890,"b":1,"b":2}')
    assert value["a"] == 123456789012345678901234567890 and value["b"] == 2
    assert isinstance(value, DuplicateKeys) and value.duplicates == [("b", 1)]


@pytest.mark.parametrize(
    "line", [b'{"\\udfaa":1,"n":1e999}', b'{"n":1e999,"a":"\\udfaa"}', b'{"n":1e999,"a":[{"\\ud800":1}]}']
)
def test_exact_parse_quarantines_lone_surrogates_in_keys_and_values_alike(line: bytes) -> None:
    with pytest.raises(LineRejected, match=r"^invalid JSON string: lone surrogate$"):
        parse_exact(line)


def test_exact_parse_keeps_an_escaped_surrogate_pair_and_an_escaped_backslash_u() -> None:
    value = parse_exact(b'{"\\ud83d\\ude00":"\\ud83d\\ude00","b":"\\\\ud800","n":1e999}')
    assert value == {"\U0001f600": "\U0001f600", "b": "\\ud800", "n": BigNumber("1e999")}
