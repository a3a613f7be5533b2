"""Line accounting and validation: every line of a decompressed file is blank, a row, or quarantined.

Rules (what the README documents)
    * A line is a ``\\n``-terminated segment, plus a final unterminated non-empty segment. A trailing
      ``\\r`` is stripped (CRLF). A bare ``\\r`` is not a line break: ``{..}\\r{..}`` is one line holding
      two values, and is quarantined.
    * Blank: empty, or only JSON whitespace (space, tab, CR). Counted, never a row. Any other
      character makes a line non-blank: a line holding a form feed or a vertical tab (not JSON
      whitespace) is quarantined as malformed JSON, whichever path it takes.
    * A UTF-8 byte order mark at the very start of a file is skipped (offsets still count its 3 bytes).
    * Quarantined, one record each, with a reason: malformed or truncated JSON, invalid UTF-8,
      ``NaN``/``Infinity``, a value that is valid JSON but not an object (``"not an object"``: arrays,
      strings, numbers, ``true``/``false``/``null`` on a line), several values on one line, a line
      longer than ``max_line_bytes`` (its raw text is truncated in the record, which says so), nesting
      deeper than ``MAX_DEPTH`` = 1024 levels (``"nesting too deep"``; the native reader would overflow
      its stack on a nesting bomb, so such a line never reaches it), a string (key or value) holding a
      lone surrogate escape such as ``"\\ud800"`` (``"invalid JSON string: lone surrogate"``: such a
      string is not Unicode text, no Parquet string can hold it; the line is kept whole in quarantine).
    * What the native reader is given is decided per stretch (``triage``). A stretch whose every line
      starts with ``{``, with no line near ``max_line_bytes`` and none that could nest past
      ``MAX_DEPTH``, goes to the reader as it is (``Triage.NATIVE``): the reader refuses everything
      else that is not one object per line (see ``native``), and only then is the stretch screened.
      A stretch that fails that shape check is screened by simdjson, whole (one native pass) or line
      by line (``screen``); a line simdjson refuses for a reason that valid JSON can have (integers
      beyond 64 bits, numbers overflowing a double) is parsed exactly by Python's ``json`` instead.
    * Duplicate keys in one object: the last occurrence is the value (as in JavaScript and orjson); the
      earlier ones are kept in ``_rescued_data`` under ``"_duplicate_keys"`` as ``[[path, value], ...]``.
    * Integers beyond int64 are never rounded through a double: they are kept exactly, as JSON numbers,
      in ``_rescued_data``. Numbers that overflow a double (``1e999``) are kept there as their exact text.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import simdjson

MAX_DEPTH = 1024  # levels, the line's own object included (simdjson takes 1,023: a line of 1,024 is parsed in
# Python); the native reader copes with 2,000 and crashes on 100,000
RAW_LIMIT = 64 * 1024  # bytes of a giant line kept in its quarantine record
JSON_WHITESPACE = b" \t\r"  # with the LF that ends a line, the only whitespace JSON has
WIDE_LINE_KEYS = 10_000  # a line with more ``:`` than this is parsed in Python, never by the native reader
WIDE_WINDOW = 16 * 1024  # such a line is longer than 2 * 16 KiB (a key and its value take 5 bytes at least)
_RETRY_EXACTLY = ("BIGINT_ERROR", "NUMBER_ERROR", "STRING_ERROR", "UTF8_ERROR", "DEPTH_ERROR")


class Verdict(Enum):
    """What became of one line."""

    BLANK = "blank"
    ROW = "row"  # valid single object, fit for the native reader
    EXACT = "exact"  # valid single object the native reader would get wrong: parse it in Python
    BAD = "bad"  # quarantined


@dataclass(slots=True)
class BadLine:
    """A quarantined line: where it was and why."""

    line: int  # 1-based
    offset: int  # byte offset in the decompressed file
    reason: str
    raw: bytes
    truncated: bool = False

    def record(self, source: str) -> dict[str, Any]:
        """The quarantine record (raw as text when it is UTF-8, else base64)."""
        entry: dict[str, Any] = {"source": source, "line": self.line, "offset": self.offset, "reason": self.reason}
        try:
            entry["raw"] = self.raw.decode("utf-8")
        except UnicodeDecodeError:
            entry["raw"] = base64.b64encode(self.raw).decode("ascii")
            entry["raw_encoding"] = "base64"
        if self.truncated:
            entry["raw_truncated"] = True
        return entry


@dataclass(slots=True)
class ScreenedFile:
    """One file's lines, sorted: the rows for the native reader, those for Python, the bad ones."""

    lines: int = 0
    blank: int = 0
    rows: list[bytes] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)  # 1-based line number of each row
    row_offsets: list[int] = field(default_factory=list)  # byte offset of each row in the decompressed file
    exact: list[tuple[int, int, bytes]] = field(default_factory=list)  # (line, offset, text)
    bad: list[BadLine] = field(default_factory=list)


class DuplicateKeys(dict):  # type: ignore[type-arg]
    """A dict that remembers the earlier values of keys repeated in its JSON object."""

    __slots__ = ("duplicates",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.duplicates: list[tuple[str, Any]] = []
        for key, value in pairs:
            if key in self:
                self.duplicates.append((key, self[key]))
                del self[key]  # the last occurrence also takes the last position
            self[key] = value


class BigNumber:
    """A JSON number that a double cannot hold (``1e999``), kept as its exact text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"BigNumber({self.text})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BigNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _object_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        return DuplicateKeys(pairs)
    return dict(pairs)


LONE_SURROGATE = "invalid JSON string: lone surrogate"
_SURROGATE = re.compile("[\ud800-\udfff]")  # json pairs valid escapes into one code point: any left is lone


def _holds_lone_surrogate(value: Any) -> bool:
    """True when a key or string value anywhere in ``value`` holds a lone surrogate (a loop: no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            for key, child in item.items():
                if not key.isascii() and _SURROGATE.search(key):
                    return True
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _parse_float(text: str) -> float | BigNumber:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        return BigNumber(text)
    return value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_object_hook, parse_float=_parse_float, parse_constant=_reject_constant)


class LineRejected(ValueError):
    """A line that is not one JSON object; the message is the quarantine reason."""


def parse_exact(text: bytes) -> dict[str, Any]:
    """Parse one line exactly (big integers kept, duplicates remembered), or raise LineRejected with a reason."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LineRejected("invalid UTF-8") from exc
    stripped = decoded.strip(" \t\r\n")
    try:
        value, end = _DECODER.raw_decode(stripped)
    except RecursionError as exc:
        raise LineRejected("nesting too deep") from exc
    except ValueError as exc:
        reason = str(exc)
        if "is not JSON" in reason:
            raise LineRejected("NaN or Infinity is not JSON") from exc
        raise LineRejected(f"malformed JSON: {reason}") from exc
    if end != len(stripped):
        raise LineRejected("several JSON values on one line" if _starts_value(stripped[end:]) else "trailing content")
    if not isinstance(value, dict):
        raise LineRejected("not an object")
    if "\\u" in stripped and _holds_lone_surrogate(value):  # only an escape can make a surrogate
        raise LineRejected(LONE_SURROGATE)
    return value


def _starts_value(rest: str) -> bool:
    rest = rest.lstrip(" \t\r\n")
    return bool(rest) and (rest[0] in '{["-' or rest[0].isdigit() or rest.startswith(("true", "false", "null")))


_OPENERS = re.compile(rb"[\[{]")
_LINE_NOT_AN_OBJECT = "\n[^{]"  # RE2 (Arrow's) scans a stretch for it six times faster than Python's re


def _depth_exceeds(line: bytes, limit: int) -> bool:
    """True when brackets nest deeper than ``limit`` (strings skipped); only called on suspicious lines."""
    if len(_OPENERS.findall(line, 0, len(line))) <= limit:
        return False
    depth = 0
    for token in re.finditer(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', line):
        char = token.group()[:1]
        if char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


def screen(data: bytes, *, start_offset: int, max_line_bytes: int, first_line: int = 1) -> ScreenedFile:
    """Sort every line of ``data`` (a decompressed file or a stretch of one cut at a line, BOM skipped).

    ``start_offset`` is where ``data`` begins in the decompressed file (3 after a BOM), ``first_line``
    the number of its first line.
    The per-line work is one simdjson parse (no Python objects built); rare failures get a second,
    exact look to give a precise reason or to rescue valid JSON the fast parsers refuse.
    """
    result = ScreenedFile()
    if not data:
        return result
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()  # the terminator of the last line, not a line
    result.lines = len(parts)
    has_cr = b"\r" in data
    long_lines = len(data) > max_line_bytes
    parser = simdjson.Parser()
    rows = result.rows
    row_lines = result.row_lines
    row_offsets = result.row_offsets
    offset = start_offset
    for number, line in enumerate(parts, first_line):
        line_offset = offset
        offset += len(line) + 1
        if has_cr and line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            result.blank += 1
            continue
        if long_lines and len(line) > max_line_bytes:
            reason = f"line longer than max_line_bytes ({len(line)} > {max_line_bytes} bytes)"
            result.bad.append(BadLine(number, line_offset, reason, line[:RAW_LIMIT], truncated=True))
            continue
        try:
            parsed = parser.parse(line, recursive=False)
            is_object = type(parsed) is simdjson.Object
            del parsed  # the parser may not be reused while a proxy lives
        except (ValueError, RuntimeError, UnicodeDecodeError) as exc:
            verdict, reason = _second_look(line, exc)
            if verdict is Verdict.BLANK:
                result.blank += 1
            elif verdict is Verdict.EXACT:
                result.exact.append((number, line_offset, line))
            else:
                result.bad.append(bad_line(number, line_offset, reason, line))
            continue
        if not is_object:
            result.bad.append(bad_line(number, line_offset, "not an object", line))
            continue
        if len(line) > WIDE_WINDOW and line.count(b":") > WIDE_LINE_KEYS:
            result.exact.append((number, line_offset, line))  # a very wide line: typed within the limits
            continue
        rows.append(line)
        row_lines.append(number)
        row_offsets.append(line_offset)
    return result


class Triage(Enum):
    """How a stretch reaches the native reader."""

    NATIVE = "native"  # as it is: shaped like one object per line, the reader checks the rest
    SCREENED = "screened"  # simdjson passed the whole stretch in one pass
    LINES = "lines"  # screen line by line


def triage(data: bytes, lines: int, *, max_line_bytes: int, parser: simdjson.Parser) -> Triage:
    """Decide how the ``lines`` lines of ``data`` (ending with ``\\n``) reach the native reader.

    ``NATIVE`` needs no parse: every line starts with ``{`` (no blank line, no bare ``null`` that
    would crash the reader), no line may exceed ``max_line_bytes``, and no line holds enough brackets
    to nest past ``MAX_DEPTH`` (the reader's stack overflow). A stretch with such a bracket-heavy
    line is screened whole by simdjson, which measures the real depth. A stretch with a line of more
    than ``WIDE_LINE_KEYS`` keys is screened line by line: that line is parsed in Python (the
    native reader would build a column per key, however many; see ``screen``).
    """
    if not lines:
        return Triage.NATIVE if not data else Triage.LINES
    if not _object_lines(data, max_line_bytes) or _has_wide_line(data):
        return Triage.LINES
    if not _may_nest_too_deep(data):
        return Triage.NATIVE
    return Triage.SCREENED if _parses_whole(data, lines, parser) else Triage.LINES


def _object_lines(data: bytes, max_line_bytes: int) -> bool:
    """Every line starts with ``{`` and none may be longer than ``max_line_bytes`` (no parse)."""
    if data[:1] != b"{" or _has_line_not_an_object(data):
        return False  # a blank line, leading whitespace, or a line that is not an object
    return not (len(data) > max_line_bytes and _may_hold_long_line(data, max_line_bytes))


def _parses_whole(data: bytes, lines: int, parser: simdjson.Parser) -> bool:
    """simdjson parses the lines as the elements of one array, and there are exactly ``lines`` of them."""
    wrapped = bytearray(b"[")
    wrapped += data
    wrapped[-1] = 0x5D  # the last line's "\n" becomes the closing "]"
    wrapped = wrapped.replace(b"\n", b",")
    try:
        document = parser.parse(wrapped, recursive=False)
        count = len(document)
        del document  # the parser may not be reused while a proxy lives
    except (ValueError, RuntimeError, UnicodeDecodeError):
        return False
    return count == lines


def _may_hold_long_line(data: bytes, limit: int) -> bool:
    """True unless every line is surely at most ``limit`` bytes (a few ``find`` calls, not one per line).

    A line longer than ``limit`` spans a whole aligned window of ``limit // 2`` bytes, so a stretch
    whose every window holds a newline has no such line. Too many windows: let ``screen`` measure.
    """
    window = max(1, limit // 2)
    if len(data) > 256 * window:
        return True
    return next(_lines_spanning_a_window(data, window), None) is not None


def _lines_spanning_a_window(data: bytes, window: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each line that spans a whole aligned window of ``window`` bytes: every line longer
    than ``2 * window - 1`` bytes, and some shorter ones; found with a ``find`` per window, not per line."""
    start = 0
    while start < len(data):
        if data.find(b"\n", start, start + window) != -1:
            start += window
            continue
        line_start = data.rfind(b"\n", 0, start) + 1
        line_end = data.find(b"\n", start)
        line_end = len(data) if line_end == -1 else line_end
        yield line_start, line_end
        start = line_end + 1


def _has_line_not_an_object(data: bytes) -> bool:
    """True when a line after the first starts with anything but ``{`` (the buffer is wrapped, not copied)."""
    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    return bool(pc.match_substring_regex(whole, _LINE_NOT_AN_OBJECT)[0].as_py())


def _has_wide_line(data: bytes) -> bool:
    """True when a line may hold more than ``WIDE_LINE_KEYS`` keys (more ``:`` than that).

    Such a line is over ``2 * WIDE_WINDOW`` bytes long (each key takes at least a few bytes), so it
    spans a whole aligned window of ``WIDE_WINDOW`` bytes: only the lines found that way are counted.
    """
    return any(
        data.count(b":", start, end) > WIDE_LINE_KEYS for start, end in _lines_spanning_a_window(data, WIDE_WINDOW)
    )


def _may_nest_too_deep(data: bytes) -> bool:
    """True when some line long enough to nest past ``MAX_DEPTH`` holds more than ``MAX_DEPTH`` brackets.

    Nesting past ``MAX_DEPTH`` takes as many openers and as many closers: over ``2 * MAX_DEPTH`` bytes,
    so such a line spans a whole aligned window of ``MAX_DEPTH`` bytes, and only the lines found that
    way have their brackets counted (a few ``find`` calls per KiB). A shorter line cannot be valid
    JSON that deep; the reader refuses it (it copes with 3,000 levels, it crashes far beyond).
    """
    return any(
        data.count(b"{", start, end) + data.count(b"[", start, end) > MAX_DEPTH
        for start, end in _lines_spanning_a_window(data, MAX_DEPTH)
    )


def bad_line(number: int, offset: int, reason: str, line: bytes) -> BadLine:
    """A quarantined line, its raw text cut to ``RAW_LIMIT`` bytes (the record says so)."""
    if len(line) > RAW_LIMIT:
        return BadLine(number, offset, reason, line[:RAW_LIMIT], truncated=True)
    return BadLine(number, offset, reason, line)


def _second_look(line: bytes, exc: BaseException) -> tuple[Verdict, str]:
    """Why simdjson refused a line, and whether valid JSON hides behind the refusal."""
    if not line.strip(JSON_WHITESPACE):  # not bytes.isspace(): a form feed or vertical tab is no blank
        return Verdict.BLANK, ""
    if line.isspace():
        return Verdict.BAD, "malformed JSON: whitespace JSON does not allow (form feed or vertical tab)"
    if isinstance(exc, UnicodeDecodeError):
        return Verdict.BAD, "invalid UTF-8"
    message = str(exc)
    if _depth_exceeds(line, MAX_DEPTH):  # measured: simdjson refuses 1,024 levels already
        return Verdict.BAD, f"nesting too deep (over {MAX_DEPTH} levels)"
    try:
        parse_exact(line)
    except LineRejected as rejected:
        return Verdict.BAD, str(rejected)
    if any(code in message for code in _RETRY_EXACTLY):
        return Verdict.EXACT, ""
    # simdjson refused what Python's json accepts for another reason: trust the stricter parser.
    return Verdict.BAD, f"malformed JSON: {message.split(':', 1)[0]}"
