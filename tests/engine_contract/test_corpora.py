"""Real files written by others (tests/data/corpora), landed on the case's storage and read back line by line.

The expectations are computed here, independently of any engine: each file is decompressed and cut
into lines by this module; every line must be a blank, a row that restores the line's object, or a
quarantine record holding the line's raw text.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from ndjson2parquet.conversion.rescue import deep_merge
from tests.engine_contract.case import EngineCase
from tests.support.lake import normalise

#: small corpus files, together one manifest: CRLF and gzip, bad lines among good ones, type drift, a
#: BOM, no final newline, 64-bit ids above 2^53, wide real events, key collisions by case
FILES = [
    "duckdb-json/data/json/example_rn.ndjson",
    "duckdb-json/data/json/example_rn.ndjson.gz",
    "duckdb-json/data/json/unterminated_quotes.ndjson",
    "duckdb-json/data/json/inconsistent_schemas.ndjson",
    "duckdb-json/data/json/sample_utf8_bom.json",
    "duckdb-json/data/json/duplicate_column_names.json",
    "arrow-rs-json/arrow-json/test/data/mixed_arrays.json.gz",
    "clickhouse-jsoneachrow/tests/queries/0_stateless/data_json/twitter.jsonl",
    "datafusion-json/datafusion/core/tests/data/schema_infer_limit.json",
    "lnav-json-logs/test/logfile_mixed_json2.json",
    "lnav-json-logs/test/logfile_json_invalid.json",
    "lnav-json-logs/test/gharchive_log.jsonl",
    "mongodb-json-files/datasets/restaurant.json",
]
BOM = b"\xef\xbb\xbf"
OUR_COLUMNS = ("_rescued_data", "_duplicate_keys", "_source_file", "_source_line")


def text_lines(stored: bytes) -> list[bytes]:
    """The file's lines as the data contract cuts them (decompressed, BOM skipped, LF, a CR before it dropped)."""
    data = gzip.decompress(stored) if stored[:2] == b"\x1f\x8b" else stored
    data = data.removeprefix(BOM)
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return [part.removesuffix(b"\r") for part in parts]


def _no_constants(name: str) -> None:
    raise ValueError(name)


def json_object(line: bytes) -> dict[str, Any] | None:
    """The line's object when it is exactly one JSON object, else None."""
    try:
        value = json.loads(line.decode("utf-8"), parse_constant=_no_constants)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def restored(row: dict[str, Any]) -> dict[str, Any]:
    """The record a row stands for: its data columns and its `_rescued_data`."""
    data = {k: v for k, v in row.items() if k not in OUR_COLUMNS}
    return deep_merge(data, json.loads(row["_rescued_data"])) if row["_rescued_data"] else data


def raw_of(record: dict[str, Any]) -> bytes:
    raw = str(record["raw"])
    return base64.b64decode(raw) if record.get("raw_encoding") == "base64" else raw.encode("utf-8")


def test_real_corpus_files_are_accounted_for_line_by_line(engine_case: EngineCase, corpora: Path) -> None:
    stored = {name: (corpora / name).read_bytes() for name in FILES}
    files = [engine_case.put_input(name.replace("/", "_"), data) for name, data in stored.items()]
    result = engine_case.convert(files, lineage=True)

    rows_by_file: dict[str, dict[int, dict[str, Any]]] = {f.uri: {} for f in files}
    for row in engine_case.rows(result):
        assert row["_source_line"] not in rows_by_file[row["_source_file"]]  # no line twice
        rows_by_file[row["_source_file"]][row["_source_line"]] = row
    bad_by_file: dict[str, dict[int, dict[str, Any]]] = {f.uri: {} for f in files}
    for record in engine_case.quarantined(result):
        bad_by_file[record["source"]][record["line"]] = record

    for input_file, data in zip(files, stored.values(), strict=True):
        lines = text_lines(data)
        ledger = result.ledgers[input_file.file_id]
        rows, bad = rows_by_file[input_file.uri], bad_by_file[input_file.uri]
        assert ledger.rejection is None and ledger.lines == len(lines), input_file.uri
        assert (ledger.rows_written, ledger.rows_quarantined) == (len(rows), len(bad))
        blank = {n for n, line in enumerate(lines, 1) if not line.strip(b" \t\r")}
        assert ledger.blank == len(blank)
        assert sorted([*blank, *rows, *bad]) == list(range(1, len(lines) + 1)), input_file.uri
        for number, row in rows.items():
            original = json_object(lines[number - 1])
            assert original is not None and normalise(restored(row)) == normalise(original), (input_file.uri, number)
        for number, record in bad.items():
            assert raw_of(record) == lines[number - 1] and record["reason"], (input_file.uri, number)
            assert json_object(lines[number - 1]) is None
    assert sum(len(rows) for rows in rows_by_file.values()) > 2500  # the corpora were read, not skipped


def utf8_cases(corpora: Path) -> list[tuple[str, bool, bytes]]:
    """utf8tests.bin: one `id:valid|invalid:bytes` case per line."""
    cases = []
    for line in (corpora / "utf8tests" / "utf8tests.bin").read_bytes().split(b"\n"):
        if line.count(b":") >= 2:
            case, verdict, sequence = line.split(b":", 2)
            cases.append((case.decode(), verdict == b"valid", sequence))
    return cases


@pytest.mark.parametrize("where", ["value", "key"])
def test_utf8_sequences_become_strings_or_are_quarantined_with_their_exact_bytes(
    engine_case: EngineCase, corpora: Path, where: str
) -> None:
    cases = [c for c in utf8_cases(corpora) if b'"' not in c[2] and b"\\" not in c[2] and b"\n" not in c[2]]
    # control characters are not allowed raw in JSON strings: those valid sequences are left out
    cases = [c for c in cases if not (c[1] and any(ord(ch) < 0x20 for ch in c[2].decode("utf-8")))]
    lines = [
        b'{"case":"%s","v":"%s"}' % (case.encode(), sequence)
        if where == "value"
        else b'{"case":"%s","k%s":1}' % (case.encode(), sequence)
        for case, _, sequence in cases
    ]
    input_file = engine_case.put_input("utf8.ndjson", b"\n".join(lines) + b"\n")
    result = engine_case.convert([input_file])

    rows = {row["case"]: normalise(restored(row)) for row in engine_case.rows(result)}
    bad = {record["line"]: record for record in engine_case.quarantined(result)}
    assert len(rows) + len(bad) == len(cases) and sum(1 for c in cases if not c[1]) > 100
    for number, (case, valid, sequence) in enumerate(cases, 1):
        if valid:
            text = sequence.decode("utf-8")
            assert rows[case] == ({"case": case, "v": text} if where == "value" else {"case": case, f"k{text}": 1})
        else:
            assert bad[number]["reason"] == "invalid UTF-8" and raw_of(bad[number]) == lines[number - 1], case


def test_jsontestsuite_texts_as_one_line_each(engine_case: EngineCase, corpora: Path) -> None:
    """A `y_` text that is an object becomes a row, other `y_` texts are "not an object", no `n_` text is a row."""
    texts = [
        # one JSON text, one line: its newlines (JSON whitespace in y_ texts) become spaces
        (path.name, path.read_bytes().rstrip(b"\n").replace(b"\n", b" ").replace(b"\r", b" "))
        for path in sorted((corpora / "jsontestsuite" / "test_parsing").iterdir())
    ]
    input_file = engine_case.put_input("suite.ndjson", b"".join(text + b"\n" for _, text in texts))
    result = engine_case.convert([input_file], lineage=True)

    ledger = result.ledgers[input_file.file_id]
    assert ledger.lines == len(texts) == ledger.blank + ledger.rows_written + ledger.rows_quarantined
    names = {number: name for number, (name, _) in enumerate(texts, 1)}
    became_rows = {names[row["_source_line"]] for row in engine_case.rows(result)}
    reasons = {names[record["line"]]: record["reason"] for record in engine_case.quarantined(result)}
    objects = set()
    for name, text in texts:
        if name.startswith("y_"):
            value = json.loads(text)
            if isinstance(value, dict):
                objects.add(name)
            elif text.strip():
                assert reasons[name] == "not an object", name
    assert {n for n in became_rows if n.startswith("y_")} == objects
    assert not {n for n in became_rows if n.startswith("n_")}
    blank_texts = {name for name, text in texts if not text.strip()}
    assert reasons.keys() | became_rows | blank_texts == set(names.values())


def test_a_nesting_bomb_is_quarantined_not_crashed(engine_case: EngineCase, corpora: Path) -> None:
    bomb = engine_case.put_input(
        "bomb.ndjson", (corpora / "jsontestsuite/test_parsing/n_structure_100000_opening_arrays.json").read_bytes()
    )
    deep = engine_case.put_input("deep.ndjson", b'{"a":' + b"[" * 5000 + b"]" * 5000 + b'}\n{"a":1}\n')
    result = engine_case.convert([bomb, deep])
    records = engine_case.quarantined(result)
    assert {(r["source"], r["line"]) for r in records} == {(bomb.uri, 1), (deep.uri, 1)}
    assert all(r["reason"].startswith("nesting too deep") for r in records)
    assert result.ledgers[deep.file_id].rows_written == 1 and [row["a"] for row in engine_case.rows(result)] == [1]


def test_jsontestsuite_numbers_are_exact(engine_case: EngineCase, corpora: Path) -> None:
    folder = corpora / "jsontestsuite" / "test_transform"
    # number texts are one-element arrays: their element becomes the value of "v"
    inner = [p.read_bytes().strip()[1:-1] for p in sorted(folder.iterdir()) if p.name.startswith("number_")]
    input_file = engine_case.put_input("transform.ndjson", b"".join(b'{"v":' + t + b"}\n" for t in inner))
    result = engine_case.convert([input_file], lineage=True)

    assert result.ledgers[input_file.file_id].lines == len(inner) == result.rows_written
    rows = {row["_source_line"]: row for row in engine_case.rows(result)}
    exact_ints = 0
    for number, text in enumerate(inner, 1):
        value = json.loads(text)
        if isinstance(value, int):
            back = restored(rows[number])["v"]
            # a float64 column (1.0 and 1e6 share "v") holds small ints as equal floats; big ones stay exact
            assert back == value and (isinstance(back, int) or abs(value) <= 2**53), text
            exact_ints += 1
    assert exact_ints >= 5  # 2^63 - 1, 2^63, -2^63, -2^63 - 1, 10000000000000000999
