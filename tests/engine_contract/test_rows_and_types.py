"""Every valid record is read back once, with its values and the Arrow types the contract promises."""

from __future__ import annotations

import gzip
import random
from typing import Any

import orjson
import pyarrow as pa
import zstandard

from tests.engine_contract.case import EngineCase

#: the Arrow type every part gives each field of `record` (a timestamp-like string stays a string)
TYPES = {
    "id": pa.int64(),
    "name": pa.string(),
    "score": pa.float64(),
    "flag": pa.bool_(),
    "maybe": pa.int64(),
    "user": pa.struct([("id", pa.int64()), ("tags", pa.list_(pa.string()))]),
    "items": pa.list_(pa.struct([("sku", pa.string()), ("qty", pa.int64())])),
    "when": pa.string(),
    "_rescued_data": pa.string(),
    "_duplicate_keys": pa.string(),
}


def record(rng: random.Random, index: int) -> dict[str, Any]:
    """A generated record: unicode and escapes, nulls, nested structs and lists, an int64 past 2^53."""
    return {
        "id": index,
        "name": rng.choice(["Zoë", "Łukasz", "平仮名", "plain", "emoji 🎉", 'quote " and \\ slash', "tab\tnew\nline"]),
        "score": rng.random() * 100,
        "flag": rng.random() < 0.5,
        "maybe": None if rng.random() < 0.5 else rng.randrange(-(2**63), 2**63),
        "user": {"id": rng.randrange(2**62), "tags": rng.sample(["a", "b", "c"], rng.randrange(3))},
        "items": [{"sku": f"s{rng.randrange(99)}", "qty": rng.randrange(9)} for _ in range(rng.randrange(3))],
        "when": "2026-11-25T10:00:00Z",
    }


def compress(kind: str, body: bytes) -> bytes:
    if kind == "gz":
        return gzip.compress(body)
    if kind == "zst":
        return zstandard.ZstdCompressor().compress(body)
    return body


def test_every_record_is_read_back_once_with_its_values_and_arrow_types(engine_case: EngineCase) -> None:
    rng = random.Random(3)
    records = [record(rng, i) for i in range(6000)]
    files = []
    for n, kind in enumerate(["plain", "gz", "zst", "plain", "gz", "zst"]):
        body = b"".join(orjson.dumps(r) + b"\n" for r in records[n * 1000 : (n + 1) * 1000])
        name = f"in-{n}.ndjson" + ("" if kind == "plain" else f".{kind}")
        files.append(engine_case.put_input(name, compress(kind, body)))
    # a small target splits the manifest into several parts
    result = engine_case.convert(files, target_file_bytes=400_000)

    assert len(result.outputs) > 1 and result.rows_written == len(records) and result.rows_quarantined == 0
    assert result.values_rescued == 0 and result.bytes_in == sum(f.size for f in files)
    rows = engine_case.rows(result)
    assert [output.rows for output in result.outputs] == [len(engine_case.table(o.path)) for o in result.outputs]
    by_id = {row["id"]: row for row in rows}
    assert len(by_id) == len(rows) == len(records)
    for original in records:
        row = by_id[original["id"]]
        assert {k: row[k] for k in original} == original
        assert row["_rescued_data"] is None and row["_duplicate_keys"] is None
    for output in result.outputs:
        schema = engine_case.table(output.path).schema
        assert {name: schema.field(name).type for name in schema.names} == TYPES
    for input_file in files:
        ledger = result.ledgers[input_file.file_id]
        assert (ledger.lines, ledger.blank, ledger.rows_written, ledger.rows_quarantined) == (1000, 0, 1000, 0)
        assert (ledger.start_offset, ledger.end_offset, ledger.first_line) == (0, input_file.size, 1)
        assert ledger.rejection is None and ledger.outputs
        assert set(ledger.outputs) <= {o.path for o in result.outputs}


def test_lineage_columns_name_each_rows_source_file_and_line(engine_case: EngineCase) -> None:
    first = engine_case.put_input("a.ndjson", b'{"n":1}\n\n{"n":2}\n')
    second = engine_case.put_input("b.ndjson.gz", gzip.compress(b'{"n":3}\nbroken\n{"n":4}'))
    result = engine_case.convert([first, second], lineage=True)
    rows = sorted(engine_case.rows(result), key=lambda row: row["n"])
    assert [(row["n"], row["_source_file"], row["_source_line"]) for row in rows] == [
        (1, first.uri, 1),
        (2, first.uri, 3),
        (3, second.uri, 1),
        (4, second.uri, 3),  # a final line without a newline is a line
    ]
    schema = engine_case.table(result.outputs[0].path).schema
    assert (schema.field("_source_file").type, schema.field("_source_line").type) == (pa.string(), pa.int64())


def test_without_lineage_the_parts_carry_no_lineage_columns(engine_case: EngineCase) -> None:
    result = engine_case.convert([engine_case.put_input("a.ndjson", b'{"n":1}\n')])
    assert engine_case.table(result.outputs[0].path).schema.names == ["n", "_rescued_data", "_duplicate_keys"]


def test_line_endings_blank_lines_and_a_byte_order_mark(engine_case: EngineCase) -> None:
    body = b'\xef\xbb\xbf{"n":1}\r\n\r\n  \t\n{"n":2}\r\n{"n":3}'
    input_file = engine_case.put_input("crlf.ndjson", body)
    result = engine_case.convert([input_file])
    assert sorted(row["n"] for row in engine_case.rows(result)) == [1, 2, 3]
    ledger = result.ledgers[input_file.file_id]
    assert (ledger.lines, ledger.blank, ledger.rows_written, ledger.rows_quarantined) == (5, 2, 3, 0)
    assert ledger.end_offset == len(body)
