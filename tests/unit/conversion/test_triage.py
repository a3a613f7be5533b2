"""How a stretch reaches the native reader: as it is, screened whole by simdjson, or line by line."""

from __future__ import annotations

import pytest
import simdjson

from ndjson2parquet.conversion.lines import MAX_DEPTH, WIDE_LINE_KEYS, Triage, screen, triage

CLEAN = b'{"a":1}\n{"b":[1,2,{"c":"d"}]}\r\n{}\n{"s":"Zo\xc3\xab"}\n'


def triaged(data: bytes, max_line_bytes: int = 1 << 20) -> Triage:
    return triage(data, data.count(b"\n"), max_line_bytes=max_line_bytes, parser=simdjson.Parser())


def test_object_shaped_lines_go_to_the_reader_unscreened() -> None:
    assert triaged(CLEAN) is Triage.NATIVE
    assert triaged(b"") is Triage.NATIVE
    # malformed, but shaped like objects: the reader refuses these, and only then are they screened
    # (tests/unit/conversion/test_stretch_paths.py shows they end as line-by-line screening ends them)
    assert triaged(CLEAN + b'{"a": 1\n{"x": NaN}\n{"a":1}{"b":2}\n{"a":1}\r{"a":2}\n') is Triage.NATIVE


@pytest.mark.parametrize(
    "line",
    [b"", b"   ", b' {"a":1}', b"null", b"[1,2]", b'"text"', b"\xef\xbb\xbf{}", b"\xff{}", b"\x00{}"],
    ids=["blank", "whitespace", "indented", "null", "array", "string", "bom", "invalid-utf8", "nul"],
)
def test_a_line_not_starting_with_a_brace_is_screened_line_by_line(line: bytes) -> None:
    assert triaged(CLEAN + line + b"\n" + CLEAN) is Triage.LINES
    assert triaged(CLEAN + line + b"\n") is Triage.LINES  # also as the last line of the stretch
    assert triaged(line + b"\n" + CLEAN) is Triage.LINES  # and as the first


def test_a_bracket_heavy_line_is_measured_by_simdjson() -> None:
    at_the_limit = b'{"a":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    wide = b'{"a":[' + b",".join([b"[]"] * (MAX_DEPTH + 10)) + b"]}"  # many brackets, shallow
    deep = b'{"a":' + b"[" * (MAX_DEPTH + 10) + b"]" * (MAX_DEPTH + 10) + b"}"
    assert triaged(CLEAN + at_the_limit + b"\n") is Triage.NATIVE
    assert triaged(CLEAN + wide + b"\n") is Triage.SCREENED
    assert triaged(CLEAN + deep + b"\n") is Triage.LINES
    assert screen(deep + b"\n", start_offset=0, max_line_bytes=1 << 20).bad[0].reason.startswith("nesting too deep")


def test_a_line_over_the_limit_is_screened_line_by_line_and_quarantined() -> None:
    long_line = b'{"a":"' + b"x" * 300 + b'"}\n'
    data = CLEAN * 20 + long_line + CLEAN * 20
    assert triaged(data, max_line_bytes=200) is Triage.LINES
    assert triaged(data, max_line_bytes=1000) is Triage.NATIVE
    assert len(screen(data, start_offset=0, max_line_bytes=200).bad) == 1


def test_triage_and_screen_agree_on_clean_stretches() -> None:
    data = CLEAN * 50
    screened = screen(data, start_offset=0, max_line_bytes=1 << 20)
    assert triaged(data) is Triage.NATIVE and not screened.bad and not screened.exact and not screened.blank
    assert len(screened.rows) == data.count(b"\n")


def test_screen_numbers_lines_from_first_line() -> None:
    screened = screen(b'{"a":1}\nbad\n', start_offset=100, max_line_bytes=1 << 20, first_line=41)
    assert screened.row_lines == [41] and screened.row_offsets == [100]
    assert (screened.bad[0].line, screened.bad[0].offset) == (42, 108)


def test_a_line_with_very_many_keys_is_screened_and_parsed_in_python() -> None:
    wide = b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(WIDE_LINE_KEYS + 1)) + b"}"
    almost = b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(WIDE_LINE_KEYS)) + b"}"
    assert triaged(CLEAN + wide + b"\n" + CLEAN) is Triage.LINES
    assert triaged(CLEAN + almost + b"\n" + CLEAN) is Triage.NATIVE
    screened = screen(CLEAN + wide + b"\n", start_offset=0, max_line_bytes=1 << 20)
    assert [text for _, _, text in screened.exact] == [wide] and len(screened.rows) == CLEAN.count(b"\n")
