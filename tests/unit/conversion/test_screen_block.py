"""The one-pass screen of a whole stretch: it passes a stretch only when ``screen`` would pass every line as is."""

from __future__ import annotations

import pytest
import simdjson

from ndjson2parquet.conversion.lines import MAX_DEPTH, screen, screen_block

CLEAN = b'{"a":1}\n{"b":[1,2,{"c":"d"}]}\r\n{}\n{"s":"Zo\xc3\xab"}\n'


def block(data: bytes, max_line_bytes: int = 1 << 20) -> bool:
    return screen_block(data, data.count(b"\n"), max_line_bytes=max_line_bytes, parser=simdjson.Parser())


def test_a_clean_stretch_passes() -> None:
    assert block(CLEAN)
    assert block(b"")


@pytest.mark.parametrize(
    "line",
    [
        b"",  # blank
        b"   ",  # whitespace only
        b' {"a":1}',  # leading whitespace: a row for screen, but a closer look
        b'{"a":1}{"a":2}',  # two values
        b'{"a":1},{"a":2}',  # two values, separated as array elements would be
        b'{"a":1}\r{"a":2}',  # a bare CR is not a line break
        b'{"a":1} null',
        b"null",
        b"[1,2]",
        b'"text"',
        b'{"x": NaN}',
        b'{"a": 1',  # truncated
        b'{"a":"\xff"}',  # invalid UTF-8
        b'{"a":18446744073709551616}',  # beyond 64 bits: exact path
        b'{"a":1e999}',
        b'{"a":"\\ud800"}',
        b'{"a":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}",  # at the limit: screen decides
        b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
def test_any_line_needing_a_closer_look_fails_the_block(line: bytes) -> None:
    assert not block(CLEAN + line + b"\n" + CLEAN)


def test_a_line_over_the_limit_fails_the_block_and_screen_quarantines_it() -> None:
    long_line = b'{"a":"' + b"x" * 300 + b'"}\n'
    data = CLEAN * 20 + long_line + CLEAN * 20
    assert not block(data, max_line_bytes=200)
    assert block(data, max_line_bytes=1000)  # the window check is conservative: a closer look near the limit
    assert len(screen(data, start_offset=0, max_line_bytes=200).bad) == 1


def test_block_and_screen_agree_on_clean_stretches() -> None:
    data = CLEAN * 50
    screened = screen(data, start_offset=0, max_line_bytes=1 << 20)
    assert block(data) and not screened.bad and not screened.exact and not screened.blank
    assert len(screened.rows) == data.count(b"\n")


def test_screen_numbers_lines_from_first_line() -> None:
    screened = screen(b'{"a":1}\nbad\n', start_offset=100, max_line_bytes=1 << 20, first_line=41)
    assert screened.row_lines == [41] and screened.row_offsets == [100]
    assert (screened.bad[0].line, screened.bad[0].offset) == (42, 108)
