"""The native reader's declared schema: learnt from a sample, dropped to string leaves when values drift."""

from __future__ import annotations

import orjson
import pyarrow as pa
import pytest

from ndjson2parquet.conversion.arrow import native
from ndjson2parquet.conversion.arrow.native import Declared, learn_declared, native_parse

BLOCK = 1 << 20


def ndjson(records: list[dict[str, object]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def test_a_sample_declares_its_types_with_dates_as_strings_and_null_fields_left_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(native, "SAMPLE_BYTES", 200)
    record = {"n": 1, "ts": "2026-11-25T10:00:00Z", "user": {"id": 7, "gone": None}, "tags": ["a"], "none": None}
    declared = learn_declared(ndjson([record] * 50), None, BLOCK)
    assert declared.strings == pa.schema([("ts", pa.string())])
    assert declared.full is not None
    assert declared.full.field("n").type == pa.int64() and declared.full.field("ts").type == pa.string()
    assert declared.full.field("user").type == pa.struct([("id", pa.int64())])
    assert declared.full.field("tags").type == pa.list_(pa.string())
    assert "none" not in declared.full.names


def test_values_that_do_not_fit_the_declared_types_are_read_with_inference_from_then_on() -> None:
    declared = Declared(strings=None, full=pa.schema([("n", pa.int64())]))
    drifting = ndjson([{"n": 1}, {"n": 1.5}])
    table = native_parse(drifting, 2, declared, BLOCK)
    assert table is not None and table.column("n").to_pylist() == [1.0, 1.5]
    assert declared.full_refused and declared.schemas() == [None]


def test_a_malformed_stretch_does_not_drop_the_declared_types() -> None:
    declared = Declared(strings=None, full=pa.schema([("n", pa.int64())]))
    assert native_parse(b'{"n": 1}\n{"n": \n', 2, declared, BLOCK) is None
    assert not declared.full_refused


def test_nan_and_infinity_which_the_reader_accepts_are_refused() -> None:
    for text in (b'{"n": NaN}\n', b'{"n": -Infinity}\n', b'{"n": {"m": [Inf]}}\n'):
        assert native_parse(text, 1, Declared(strings=None), BLOCK) is None
    assert native_parse(b'{"n": 1.5}\n', 1, Declared(strings=None), BLOCK) is not None


def test_a_sample_with_a_bad_line_still_declares_the_stored_strings_it_holds() -> None:
    stored = pa.schema([pa.field("when", pa.string()), pa.field("other", pa.string())])
    lines = [b'{"when": "2026-11-25T10:00:00Z", "n": %d}' % i for i in range(20_000)]
    lines[3] = b'{"when": "2026-11-25T10:00:00Z", "n": 3'  # truncated
    declared = learn_declared(b"\n".join(lines) + b"\n", None, BLOCK, stored)
    assert declared.strings == pa.schema([pa.field("when", pa.string())])  # "other" is not in the sample
    assert declared.full is not None and declared.full.field("n").type == pa.int64()
