"""The fast path (whole stretches screened at once) and the line-by-line path give the same rows, lines, offsets.

Stretches are made tiny here, so files are cut at lines into many pieces and both paths alternate.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
import simdjson

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.arrow import reading, screening
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, InputFile
from ndjson2parquet.conversion.lines import Triage, triage

SPECIAL = {
    10: b"",  # blank
    20: b"broken",  # quarantined while screening
    30: b'{"id":30,"v":"text"}',  # a misfit: rescued, or quarantined after the parse in strict mode
    45: b'{"id":45,"v":18446744073709551616}',  # exact path
}


def lines_of(count: int) -> list[bytes]:
    return [SPECIAL.get(i, orjson.dumps({"id": i, "v": i, "pad": "x" * (i % 7)})) for i in range(count)]


def job_for(paths: list[Path], root: Path, **options: Any) -> ConversionJob:
    files = tuple(InputFile(file_id=f"f{i}", uri=str(p), size=p.stat().st_size) for i, p in enumerate(paths))
    return ConversionJob(
        "m1", "events", "2026-11-25", files, str(root / "lake"), str(root / "q"), ConversionOptions(**options)
    )


def quarantined(path: str | None) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()] if path else []


@pytest.mark.parametrize("stretch", [200, 700, 1 << 20])
@pytest.mark.parametrize("bom", [False, True])
def test_rows_lines_and_offsets_whatever_the_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stretch: int, bom: bool
) -> None:
    monkeypatch.setattr(reading, "STRETCH_BYTES", stretch)
    lines = lines_of(60)
    prefix = b"\xef\xbb\xbf" if bom else b""
    body = prefix + b"\n".join(lines) + b"\n"
    offsets = [len(prefix) + sum(len(line) + 1 for line in lines[:i]) for i in range(len(lines))]
    clean = tmp_path / "clean.ndjson"
    clean.write_bytes(b"".join(orjson.dumps({"id": 100 + i, "v": i}) + b"\n" for i in range(40)))
    mixed = tmp_path / "mixed.ndjson.gz"
    mixed.write_bytes(gzip.compress(body))
    paths = [clean, mixed, clean]

    result = ArrowEngine().convert(job_for(paths, tmp_path, lineage=True, strict=True))
    records = quarantined(result.quarantine_path)
    found = {(r["source"], r["line"]): r for r in records}
    assert set(found) == {(str(mixed), 21), (str(mixed), 31), (str(mixed), 46)}  # strict: the big integer too
    assert found[(str(mixed), 21)]["offset"] == offsets[20] and found[(str(mixed), 21)]["raw"] == "broken"
    assert found[(str(mixed), 31)]["offset"] == offsets[30] and found[(str(mixed), 31)]["reason"].startswith("strict")
    assert found[(str(mixed), 46)]["offset"] == offsets[45]
    ledger = result.ledgers["f1"]
    assert (ledger.lines, ledger.blank, ledger.rows_quarantined, ledger.rows_written) == (60, 1, 3, 56)
    assert result.ledgers["f0"].rows_written == 40 and result.ledgers["f2"].rows_written == 40

    result = ArrowEngine().convert(job_for(paths, tmp_path, lineage=True))
    rows = [row for o in result.outputs for row in pq.read_table(o.path).to_pylist()]
    assert len(rows) == 40 + 58 + 40 and result.rows_quarantined == 1
    for row in rows:
        if row["_source_file"] == str(mixed):
            assert row["_source_line"] == row["id"] + 1
        else:
            assert row["_source_line"] == row["id"] - 100 + 1
    by_id = {row["id"]: row for row in rows if row["_source_file"] == str(mixed)}
    assert json.loads(by_id[30]["_rescued_data"]) == {"v": "text"}
    assert by_id[45]["_rescued_data"] == '{"v":18446744073709551616}'


def test_a_row_of_the_fast_path_quarantined_after_its_parse_has_its_offset(tmp_path: Path) -> None:
    lines = [orjson.dumps({"id": i, "v": i}) for i in range(50)]
    lines[37] = b'{"id":37,"v":"text"}'  # every line is a clean object: the stretch takes the fast path
    body = b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n"
    path = tmp_path / "in.ndjson"
    path.write_bytes(body)
    result = ArrowEngine().convert(job_for([path], tmp_path, strict=True))
    [entry] = quarantined(result.quarantine_path)
    assert (entry["line"], entry["offset"]) == (38, 3 + sum(len(line) + 2 for line in lines[:37]))
    assert json.loads(entry["raw"]) == {"id": 37, "v": "text"}


REFUSED_BY_THE_READER = {  # every line starts with "{": the stretch reaches the reader unscreened
    3: b'{"id":3,"v":',  # truncated
    7: b'{"id":7,"v":NaN}',  # the reader takes NaN; JSON has no such number
    11: b'{"id":11,"v":-Infinity}',
    15: b'{"id":15}{"id":16}',  # two values on one line
    19: b'{"id":19}\r{"id":20}',  # a bare CR is not a line break
    23: b'{"id":23,"v":18446744073709551616}',  # valid: beyond 64 bits, kept exactly
    27: b'{"id":27,"v":1,"v":2}',  # valid: duplicate keys
    31: b'{"id":31,"v":"\\ud800"}',  # a lone surrogate: not Unicode text
    35: b'{"id":35,"v":"\xff"}',  # invalid UTF-8
}


@pytest.mark.parametrize("stretch", [150, 1 << 20])
def test_lines_the_reader_refuses_are_sorted_as_line_by_line_screening_sorts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stretch: int
) -> None:
    monkeypatch.setattr(reading, "STRETCH_BYTES", stretch)
    lines = [REFUSED_BY_THE_READER.get(i, orjson.dumps({"id": i, "v": i})) for i in range(40)]
    path = tmp_path / "in.ndjson"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")

    def convert(folder: str) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]]:
        job = job_for([path], tmp_path / folder, lineage=True)
        result = ArrowEngine().convert(job)
        rows = [row for o in result.outputs for row in pq.read_table(o.path).to_pylist()]
        return result.ledgers["f0"], rows, quarantined(result.quarantine_path)

    native = convert("native")
    verdict = triage(path.read_bytes(), 40, max_line_bytes=1 << 20, parser=simdjson.Parser())
    assert verdict is Triage.NATIVE
    monkeypatch.setattr(screening, "triage", lambda *args, **kwargs: Triage.LINES)
    screened = convert("screened")

    ledger, rows, bad = native
    assert ledger == replace(screened[0], outputs=ledger.outputs) and ledger.balanced
    assert (ledger.lines, ledger.blank, ledger.rows_quarantined) == (40, 0, 7)
    assert sorted(bad, key=lambda r: r["line"]) == sorted(screened[2], key=lambda r: r["line"])
    assert [r["line"] for r in sorted(bad, key=lambda r: r["line"])] == [4, 8, 12, 16, 20, 32, 36]
    offsets = {r["line"]: r["offset"] for r in bad}
    assert all(offsets[n + 1] == sum(len(line) + 2 for line in lines[:n]) for n in (3, 7, 11, 15, 19, 31, 35))
    key = lambda row: row["_source_line"]  # noqa: E731
    assert sorted(rows, key=key) == sorted(screened[1], key=key)
    by_line = {row["_source_line"]: row for row in rows}
    assert json.loads(by_line[24]["_rescued_data"]) == {"v": 18446744073709551616}
    assert by_line[28]["v"] == 2  # the last occurrence of a duplicate key
    assert {r["line"]: r["reason"] for r in bad}[32] == "invalid JSON string: lone surrogate"


def test_a_short_line_nesting_past_the_limit_reaches_the_reader_and_is_quarantined(tmp_path: Path) -> None:
    bomb = b'{"a":' + b"[" * 1500  # too short to be valid JSON that deep: the window check lets it pass
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"id":1}\n' + bomb + b"\n" + b'{"id":3}\n')
    assert triage(path.read_bytes(), 3, max_line_bytes=1 << 20, parser=simdjson.Parser()).value == "native"
    result = ArrowEngine().convert(job_for([path], tmp_path))
    [entry] = quarantined(result.quarantine_path)
    assert (entry["line"], entry["offset"]) == (2, 9) and entry["reason"].startswith("nesting too deep")
    assert result.rows_written == 2


@pytest.mark.parametrize("first_line", [b"not json", b'{"id":0,"v":'], ids=["screened-first", "reader-first"])
@pytest.mark.parametrize("strict", [False, True])
def test_rows_keep_the_input_order_whichever_path_parsed_them(tmp_path: Path, first_line: bytes, strict: bool) -> None:
    lines = [orjson.dumps({"id": i, "v": i}) for i in range(60)]
    lines[0] = first_line  # bad: the stretch is screened on the main thread, or by the parse thread it reached
    lines[10] = b'{"id":10,"v":18446744073709551616}'  # these three take the exact (Python) path
    lines[25] = b'{"id":25,"v":1e999}'
    lines[40] = b'{"id":40,"v":1,"v":40}'
    path = tmp_path / "in.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = ArrowEngine().convert(job_for([path], tmp_path, lineage=True, strict=strict))
    rows = [row for o in result.outputs for row in pq.read_table(o.path).to_pylist()]
    kept = [row["_source_line"] for row in rows]
    assert kept == sorted(kept) and kept[0] == 2
    assert [row["id"] for row in rows] == [line - 1 for line in kept]


BRACKETS_IN_A_STRING = b'{"id":0,"s":"' + b"[" * 1100 + b'"}'  # makes triage ask simdjson for the whole stretch


@pytest.mark.parametrize(
    ("lines", "verdict"),
    [
        ([b'{"id":0}', b"\x0c", b"\x0b", b" \t", b'{"id":4}'], "lines"),  # not object-shaped: screened line by line
        ([b'{"id":0}', b'{"id":1}\x0c', b'{\x0b"id":2}', b'{"id":3}'], "native"),  # the reader refuses, then screened
        ([BRACKETS_IN_A_STRING, b'{"id":1}\x0c', b'{\x0b"id":2}', b'{"id":3}'], "lines"),  # simdjson refuses it whole
    ],
    ids=["line-by-line", "native-reader", "simdjson-whole"],
)
def test_form_feeds_and_vertical_tabs_are_quarantined_on_every_path(
    tmp_path: Path, lines: list[bytes], verdict: str
) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    found = triage(path.read_bytes(), len(lines), max_line_bytes=1 << 20, parser=simdjson.Parser())
    assert found.value == verdict
    result = ArrowEngine().convert(job_for([path], tmp_path, lineage=True))
    blank = [n for n, line in enumerate(lines, 1) if not line.strip(b" \t")]
    ledger = result.ledgers["f0"]
    assert (ledger.lines, ledger.blank, ledger.rows_quarantined) == (len(lines), len(blank), 2) and ledger.balanced
    bad = quarantined(result.quarantine_path)
    assert [entry["line"] for entry in bad] == [2, 3]
    assert [entry["raw"].encode() for entry in bad] == lines[1:3]
    assert all(entry["reason"].startswith(("malformed JSON", "trailing content")) for entry in bad)
    rows = [row for o in result.outputs for row in pq.read_table(o.path).to_pylist()]
    assert [row["_source_line"] for row in rows] == [n for n in range(1, len(lines) + 1) if n not in (2, 3, *blank)]
