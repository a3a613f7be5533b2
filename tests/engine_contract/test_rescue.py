"""The dataset's stored schema holds: misfits go to `_rescued_data`, earlier duplicate keys to `_duplicate_keys`."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from tests.engine_contract.case import EngineCase


def fields_of(schema_json: str | None) -> dict[str, Any]:
    return {field["name"]: field["type"] for field in json.loads(schema_json or "{}")["fields"]}


def by_n(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: row["n"] if row["n"] is not None else -1)


def test_values_that_do_not_fit_the_stored_schema_are_rescued_and_counted(engine_case: EngineCase) -> None:
    one = engine_case.convert([engine_case.put_input("1.ndjson", b'{"n":1,"s":"a","u":{"x":1}}\n')], "m1")
    body = b'{"n":2.5,"s":7,"new":true,"u":{"x":"no","y":1}}\n{"n":3,"s":"b"}\n{"n":4.0}\n'
    job = engine_case.job([engine_case.put_input("2.ndjson", body)], "m2", schema=one.schema_json)
    two = engine_case.engine.convert(job)

    assert fields_of(two.schema_json) == {
        "n": "int64",
        "s": "string",
        "u": {"struct": [{"name": "x", "type": "int64"}, {"name": "y", "type": "int64"}]},
        "new": "bool",
    }
    schema = engine_case.table(two.outputs[0].path).schema
    assert (schema.field("n").type, schema.field("s").type) == (pa.int64(), pa.string())  # as stored, never widened
    rows = sorted(engine_case.rows(two), key=lambda row: str(row["_rescued_data"]))
    drifted, *rest = sorted(rows, key=lambda row: row["_rescued_data"] is None)
    assert (drifted["n"], drifted["s"], drifted["new"], drifted["u"]) == (None, None, True, {"x": None, "y": 1})
    assert json.loads(drifted["_rescued_data"]) == {"n": 2.5, "s": 7, "u": {"x": "no"}}
    assert sorted((row["n"], row["s"], row["_rescued_data"]) for row in rest) == [(3, "b", None), (4, None, None)]
    assert two.values_rescued == 3


#: engine -> why it fails a contract test today (xfail, strict: the test fails the day the engine is fixed)
KNOWN_DEFECTS: dict[str, str] = {}


def test_values_that_fit_the_stored_schema_stay_in_their_column_beside_misfits(
    engine_case: EngineCase, request: pytest.FixtureRequest
) -> None:
    if engine_case.engine_name in KNOWN_DEFECTS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[engine_case.engine_name]))
    one = engine_case.convert([engine_case.put_input("1.ndjson", b'{"n":0,"x":1}\n')], "m1")
    body = b'{"n":1,"x":"a"}\n{"n":2,"x":"b"}\n{"n":3,"x":"c"}\n{"n":4,"x":4}\n{"n":5,"x":5}\n'
    job = engine_case.job([engine_case.put_input("2.ndjson", body)], "m2", schema=one.schema_json)
    rows = by_n(engine_case.rows(engine_case.engine.convert(job)))
    assert [row["x"] for row in rows] == [None, None, None, 4, 5]
    rescued = [json.loads(row["_rescued_data"] or "null") for row in rows]
    assert rescued == [{"x": "a"}, {"x": "b"}, {"x": "c"}, None, None]


def test_widening_is_an_opt_in(engine_case: EngineCase) -> None:
    one = engine_case.convert([engine_case.put_input("1.ndjson", b'{"n":1}\n')], "m1", allow_widening=True)
    job = engine_case.job(
        [engine_case.put_input("2.ndjson", b'{"n":2.5}\n{"n":3}\n')], "m2", schema=one.schema_json, allow_widening=True
    )
    two = engine_case.engine.convert(job)
    assert fields_of(two.schema_json) == {"n": "float64"}
    assert sorted((row["n"], row["_rescued_data"]) for row in engine_case.rows(two)) == [(2.5, None), (3.0, None)]
    assert engine_case.table(two.outputs[0].path).schema.field("n").type == pa.float64()
    assert two.values_rescued == 0


def test_earlier_values_of_duplicate_keys_are_kept_in_duplicate_keys(engine_case: EngineCase) -> None:
    body = b'{"n":1,"k":1,"k":2}\n{"n":2,"u":{"a":"x","a":"y"},"k":3}\n{"n":3,"k":4,"k":5,"k":6}\n{"n":4,"k":7}\n'
    result = engine_case.convert([engine_case.put_input("dup.ndjson", body)])
    rows = by_n(engine_case.rows(result))
    assert [row["k"] for row in rows] == [2, 3, 6, 7]  # the last one wins
    assert [row["u"] for row in rows] == [None, {"a": "y"}, None, None]
    # earlier values, a nested one by its path
    duplicates = [json.loads(row["_duplicate_keys"] or "null") for row in rows]
    assert duplicates == [[["k", 1]], [["u.a", "x"]], [["k", 4], ["k", 5]], None]
    assert all(row["_rescued_data"] is None for row in rows)


def test_integers_beyond_int64_are_kept_exactly_in_rescued_data(engine_case: EngineCase) -> None:
    body = b'{"n":1,"big":1}\n{"n":2,"big":123456789012345678901234567890}\n{"n":3,"big":18446744073709551615}\n'
    result = engine_case.convert([engine_case.put_input("big.ndjson", body)])
    rows = by_n(engine_case.rows(result))
    assert [row["big"] for row in rows] == [1, None, None]
    assert json.loads(rows[1]["_rescued_data"]) == {"big": 123456789012345678901234567890}
    assert json.loads(rows[2]["_rescued_data"]) == {"big": 18446744073709551615}


def test_reserved_names_are_rescued_under_their_own_spelling(engine_case: EngineCase) -> None:
    body = b'{"n":1,"date":"2020-01-01","_rescued_data":"mine","Date":2,"user":{"date":"d"}}\n'
    result = engine_case.convert([engine_case.put_input("reserved.ndjson", body)])
    (row,) = engine_case.rows(result)
    assert json.loads(row["_rescued_data"]) == {"date": "2020-01-01", "_rescued_data": "mine", "Date": 2}
    assert row["user"] == {"date": "d"} and "date" not in engine_case.table(result.outputs[0].path).schema.names


def test_strict_mode_quarantines_rows_that_do_not_fit_instead_of_rescuing(engine_case: EngineCase) -> None:
    input_file = engine_case.put_input("strict.ndjson", b'{"n":1}\n{"n":2}\n{"n":"three"}\n')
    result = engine_case.convert([input_file], strict=True)
    ledger = result.ledgers[input_file.file_id]
    assert (ledger.rows_written, ledger.rows_quarantined) == (2, 1)
    assert sorted(row["n"] for row in engine_case.rows(result)) == [1, 2]
    (record,) = engine_case.quarantined(result)
    assert (record["source"], record["line"], record["offset"]) == (input_file.uri, 3, 16)
    assert "strict" in record["reason"] and json.loads(record["raw"]) == {"n": "three"}
