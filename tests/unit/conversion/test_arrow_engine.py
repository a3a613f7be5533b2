"""The engine end to end: exactness on generated data, retries, strict mode, evolution, rejections."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
import zstandard

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, InputFile
from ndjson2parquet.domain.records import CHANGED_SINCE_REGISTRATION, content_digest, local_version


def make_job(
    paths: list[Path], root: Path, manifest: str = "m1", schema: str | None = None, **options: Any
) -> ConversionJob:
    files = tuple(InputFile(file_id=f"f{i}", uri=str(p), size=p.stat().st_size) for i, p in enumerate(paths))
    return ConversionJob(
        manifest_id=manifest,
        dataset="events",
        date="2026-11-25",
        files=files,
        output_root=str(root / "lake"),
        quarantine_root=str(root / "quarantine"),
        options=ConversionOptions(**options),
        schema_json=schema,
    )


def rows_of(result: ConversionResult) -> list[dict[str, Any]]:
    return [row for o in result.outputs for row in pq.read_table(o.path).to_pylist()]


def record(rng: random.Random, index: int) -> dict[str, Any]:
    return {
        "id": index,
        "name": rng.choice(["Zoë", "Łukasz", "平仮名", "plain", "emoji 🎉", 'quote " and \\ slash']),
        "score": rng.random() * 100,
        "flag": rng.random() < 0.5,
        "maybe": None if rng.random() < 0.5 else rng.randrange(1000),
        "user": {"id": rng.randrange(2**62), "tags": rng.sample(["a", "b", "c"], rng.randrange(3))},
        "when": "2026-11-25T10:00:00Z",  # looks like a timestamp: must stay a string
    }


def test_every_record_exactly_once_with_its_values_and_types(tmp_path: Path) -> None:
    rng = random.Random(3)
    records = [record(rng, i) for i in range(6000)]
    texts = [orjson.dumps(r) for r in records]
    paths = []
    for n, start in enumerate(range(0, len(texts), 1000)):
        body = b"\n".join(texts[start : start + 1000]) + b"\n"
        path = tmp_path / f"in-{n}.ndjson"
        if n % 3 == 1:
            body, path = gzip.compress(body), path.with_suffix(".ndjson.gz")
        elif n % 3 == 2:
            body, path = zstandard.ZstdCompressor().compress(body), path.with_suffix(".ndjson.zst")
        path.write_bytes(body)
        paths.append(path)
    # a small target splits the manifest into several parts
    result = ArrowEngine().convert(make_job(paths, tmp_path, target_file_bytes=400_000, lineage=True))
    assert len(result.outputs) > 1 and result.rows_written == len(records) and result.values_rescued == 0
    assert [Path(o.path).name for o in result.outputs] == [f"part-m1-{n}.parquet" for n in range(len(result.outputs))]
    rows = rows_of(result)
    by_id = {row["id"]: row for row in rows}
    assert len(by_id) == len(rows) == len(records)
    for original in records:
        row = by_id[original["id"]]
        assert row["_rescued_data"] is None
        assert {k: row[k] for k in original} == original
        assert type(row["when"]) is str and type(row["maybe"]) in (int, type(None))
        assert row["_source_line"] == original["id"] % 1000 + 1
    schema = pq.read_schema(result.outputs[0].path)
    assert str(schema.field("when").type) == "string" and str(schema.field("user").type).startswith("struct")
    for ledger in result.ledgers.values():
        assert ledger.balanced and ledger.rows_written == 1000 and ledger.outputs


def test_a_retry_replaces_its_own_parts_and_leaves_no_stray_one(tmp_path: Path) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(b"".join(orjson.dumps({"id": i, "pad": "x" * 200}) + b"\n" for i in range(3000)))
    first = ArrowEngine().convert(make_job([path], tmp_path, target_file_bytes=100_000))
    assert len(first.outputs) > 2
    second = ArrowEngine().convert(make_job([path], tmp_path))
    assert len(second.outputs) == 1
    folder = Path(second.outputs[0].path).parent
    assert sorted(p.name for p in folder.iterdir()) == ["part-m1-0.parquet"]
    assert sum(len(pq.read_table(p)) for p in folder.iterdir()) == 3000


def test_remove_outputs_deletes_parts_and_quarantine(tmp_path: Path) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"a":1}\nbroken\n')
    job = make_job([path], tmp_path)
    result = ArrowEngine().convert(job)
    assert result.quarantine_path and Path(result.quarantine_path).exists()
    ArrowEngine().remove_outputs(job)
    assert not Path(result.quarantine_path).exists() and not Path(result.outputs[0].path).exists()


def test_a_clean_retry_removes_the_earlier_quarantine_file(tmp_path: Path) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"a":1}\nbroken\n')
    first = ArrowEngine().convert(make_job([path], tmp_path))
    path.write_bytes(b'{"a":1}\n')
    second = ArrowEngine().convert(make_job([path], tmp_path))
    assert second.quarantine_path is None and not Path(first.quarantine_path or "").exists()


def test_a_rejected_file_does_not_block_the_rest(tmp_path: Path) -> None:
    good = tmp_path / "good.ndjson"
    good.write_bytes(b'{"a":1}\n{"a":2}\n')
    broken = tmp_path / "broken.ndjson.gz"
    broken.write_bytes(gzip.compress(b'{"a":3}\n' * 100)[:-8])
    result = ArrowEngine().convert(make_job([broken, good], tmp_path))
    assert "gzip" in (result.ledgers["f0"].rejection or "")
    assert result.ledgers["f0"].lines == 0 and result.ledgers["f1"].rows_written == 2 == result.rows_written


def test_an_existing_int_column_keeps_its_type_and_rescues_doubles_by_default(tmp_path: Path) -> None:
    first = tmp_path / "1.ndjson"
    first.write_bytes(b'{"n":1,"s":"a"}\n')
    one = ArrowEngine().convert(make_job([first], tmp_path, manifest="m1"))
    second = tmp_path / "2.ndjson"
    second.write_bytes(b'{"n":2.5,"s":7,"new":true}\n{"n":3,"s":"b"}\n{"n":4.0}\n')
    two = ArrowEngine().convert(make_job([second], tmp_path, manifest="m2", schema=one.schema_json))
    fields = {f["name"]: f["type"] for f in json.loads(two.schema_json or "")["fields"]}
    assert fields == {"n": "int64", "s": "string", "new": "bool"}
    assert pq.read_schema(two.outputs[0].path).field("n").type == pq.read_schema(one.outputs[0].path).field("n").type
    rows = rows_of(two)
    assert rows[0]["n"] is None and rows[0]["s"] is None and json.loads(rows[0]["_rescued_data"]) == {"n": 2.5, "s": 7}
    assert [(row["n"], row["s"], row["_rescued_data"]) for row in rows[1:]] == [(3, "b", None), (4, None, None)]
    assert two.values_rescued == 2


def test_widening_is_an_opt_in(tmp_path: Path) -> None:
    first = tmp_path / "1.ndjson"
    first.write_bytes(b'{"n":1}\n')
    one = ArrowEngine().convert(make_job([first], tmp_path, manifest="m1", allow_widening=True))
    second = tmp_path / "2.ndjson"
    second.write_bytes(b'{"n":2.5}\n{"n":3}\n')
    two = ArrowEngine().convert(
        make_job([second], tmp_path, manifest="m2", schema=one.schema_json, allow_widening=True)
    )
    assert json.loads(two.schema_json or "")["fields"] == [{"name": "n", "type": "float64"}]
    assert [(row["n"], row["_rescued_data"]) for row in rows_of(two)] == [(2.5, None), (3.0, None)]
    assert two.values_rescued == 0


def test_strict_mode_quarantines_misfit_rows(tmp_path: Path) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"n":1}\n{"n":2}\n{"n":"three"}\n')
    result = ArrowEngine().convert(make_job([path], tmp_path, strict=True))
    ledger = result.ledgers["f0"]
    assert (ledger.rows_written, ledger.rows_quarantined) == (2, 1) and ledger.balanced
    assert [row["n"] for row in rows_of(result)] == [1, 2]
    records = [json.loads(line) for line in Path(result.quarantine_path or "").read_text().splitlines()]
    assert records[0]["line"] == 3 and "strict" in records[0]["reason"]
    assert json.loads(records[0]["raw"]) == {"n": "three"}


def test_strict_mode_quarantines_duplicate_keys_and_keeps_reserved_names_rescued(tmp_path: Path) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"n":1,"k":1}\n{"n":2,"k":1,"k":2}\n{"n":3,"_duplicate_keys":4,"Date":"d"}\n')
    result = ArrowEngine().convert(make_job([path], tmp_path, strict=True))
    rows = sorted(rows_of(result), key=lambda row: row["n"])
    assert [row["n"] for row in rows] == [1, 3]
    assert json.loads(rows[1]["_rescued_data"]) == {"_duplicate_keys": 4, "Date": "d"}  # a name, not a misfit
    (record,) = [json.loads(line) for line in Path(result.quarantine_path or "").read_text().splitlines()]
    assert record["line"] == 2 and "duplicate keys" in record["reason"]


def test_explicit_schema_file_fixes_types(tmp_path: Path) -> None:
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps({"fields": [{"name": "n", "type": "string"}]}))
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"n":"a"}\n{"n":5}\n{"n":"c"}\n')
    result = ArrowEngine().convert(make_job([path], tmp_path, schema_file=str(schema_file)))
    rows = rows_of(result)
    assert [row["n"] for row in rows] == ["a", None, "c"] and json.loads(rows[1]["_rescued_data"]) == {"n": 5}


def test_big_integers_and_duplicates_are_kept_exactly(tmp_path: Path) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"n":1,"k":1,"k":2}\n{"n":123456789012345678901234567890}\n{"n":18446744073709551615}\n')
    result = ArrowEngine().convert(make_job([path], tmp_path, lineage=True))
    # rows needing exact Python parsing may come after the others: order by source line
    rows = sorted(rows_of(result), key=lambda row: row["_source_line"])
    assert rows[0]["n"] == 1 and rows[0]["k"] == 2 and rows[0]["_rescued_data"] is None
    assert json.loads(rows[0]["_duplicate_keys"]) == [["k", 1]]
    assert json.loads(rows[1]["_rescued_data"]) == {"n": 123456789012345678901234567890}
    assert json.loads(rows[2]["_rescued_data"]) == {"n": 18446744073709551615}


@pytest.mark.parametrize(
    "line",
    [
        b'{"n":1,"_duplicate_keys":"mine","k":1,"k":2}',  # exact path: duplicates and the user's key
        b'{"n":1,"_duplicate_keys":{"a":[1]},"k":1,"k":2}',
        b'{"n":1,"_Duplicate_Keys":5,"_rescued_data":"x","DATE":"2020-01-01","date":"2020-01-02"}',
    ],
)
def test_reserved_and_partition_names_never_shadow_the_users_values(tmp_path: Path, line: bytes) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(line + b'\n{"n":2,"date":"2021-05-05","user":{"date":"d","_duplicate_keys":1}}\n')
    result = ArrowEngine().convert(make_job([path], tmp_path))
    first, second = rows_of(result)
    fields = [f["name"] for f in json.loads(result.schema_json or "")["fields"]]
    assert fields == ["n", "k", "user"] or fields == ["n", "user"]
    original = json.loads(line)  # the last duplicate wins
    restored = {k: v for k, v in first.items() if v is not None and not k.startswith("_")}
    restored.update(json.loads(first["_rescued_data"]))
    assert restored == original
    if b'"k":1,"k":2' in line:
        assert json.loads(first["_duplicate_keys"]) == [["k", 1]]
    assert json.loads(second["_rescued_data"]) == {"date": "2021-05-05"}
    assert second["user"] == {"date": "d", "_duplicate_keys": 1}  # nested: ordinary fields


@pytest.mark.parametrize("compression", ["snappy", "zstd", "gzip", "lz4", "none"])
def test_compression_option_is_used(tmp_path: Path, compression: str) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"a":1}\n')
    result = ArrowEngine().convert(make_job([path], tmp_path, compression=compression))
    codec = pq.ParquetFile(result.outputs[0].path).metadata.row_group(0).column(0).compression
    assert codec.replace("LZ4_RAW", "LZ4") == ("UNCOMPRESSED" if compression == "none" else compression.upper())


UNTYPED = {"id": 1, "nothing": None, "tags": [], "meta": {"x": None}, "user": {"id": 7, "gone": None}}


@pytest.mark.parametrize("strict", [False, True])
def test_fields_with_no_type_yet_are_left_out_of_the_parquet_file_and_lose_nothing(
    tmp_path: Path, strict: bool
) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(orjson.dumps(UNTYPED) + b"\n" + orjson.dumps({**UNTYPED, "id": 2, "tags": None}) + b"\n")
    result = ArrowEngine().convert(make_job([path], tmp_path, strict=strict))
    assert result.rows_written == 2 and result.rows_quarantined == 0
    (part,) = result.outputs
    schema = pq.read_schema(part.path)
    # Parquet's null type: many readers cannot read it
    assert schema.names == ["id", "user", "_rescued_data", "_duplicate_keys"]
    assert [f.name for f in schema.field("user").type] == ["id"]
    first, second = rows_of(result)
    assert json.loads(first["_rescued_data"]) == {"tags": [], "meta": {"x": None}}
    assert json.loads(second["_rescued_data"]) == {"meta": {"x": None}}
    stored = {f["name"]: f["type"] for f in json.loads(result.schema_json)["fields"]}
    assert stored["nothing"] == "null" and stored["tags"] == {"list": "null"}  # typed by a later manifest

    later = tmp_path / "later.ndjson"
    later.write_bytes(orjson.dumps({"id": 3, "nothing": 5, "tags": ["a"]}) + b"\n")
    again = ArrowEngine().convert(make_job([later], tmp_path, manifest="m2", schema=result.schema_json))
    (row,) = rows_of(again)
    assert (row["nothing"], row["tags"], row["_rescued_data"]) == (5, ["a"], None)


def test_a_utf8_file_with_a_nul_in_its_first_line_converts_its_good_lines(tmp_path: Path) -> None:
    path = tmp_path / "nul.ndjson"
    path.write_bytes(b'{"\x00":1}\n{"a":2}\n{"a":3}\n')  # a NUL in the first four bytes: no UTF-16 for all that
    result = ArrowEngine().convert(make_job([path], tmp_path))
    ledger = result.ledgers["f0"]
    assert ledger.rejection is None and (ledger.lines, ledger.rows_written, ledger.rows_quarantined) == (3, 2, 1)
    assert [row["a"] for row in rows_of(result)] == [2, 3]
    [entry] = [json.loads(line) for line in Path(result.quarantine_path or "").read_text().splitlines()]
    assert (entry["line"], entry["raw"]) == (1, '{"\x00":1}') and entry["reason"].startswith("malformed JSON")


def test_a_continuation_converts_only_the_tail_with_its_lines_numbered_on(tmp_path: Path) -> None:
    path = tmp_path / "a.ndjson"
    head, tail = b'{"n": 1}\n{"n": 2}\n', b'{"n": 3}\nnot json\n'
    path.write_bytes(head + tail)
    st = path.stat()
    version = local_version(st.st_size, st.st_mtime_ns)
    files = (InputFile("f0", str(path), st.st_size, version, start_offset=len(head), first_line=3),)
    job = ConversionJob("m1", "ds", "2026-11-25", files, str(tmp_path / "out"), str(tmp_path / "q"),
                        ConversionOptions(lineage=True))  # fmt: skip
    result = ArrowEngine().convert(job)
    ledger = result.ledgers["f0"]
    assert (ledger.lines, ledger.rows_written, ledger.rows_quarantined) == (2, 1, 1)
    assert (ledger.start_offset, ledger.end_offset, ledger.first_line) == (len(head), st.st_size, 3)
    assert ledger.digest == content_digest(head + tail)
    table = pq.read_table(result.outputs[0].path)
    assert table.column("n").to_pylist() == [3] and table.column("_source_line").to_pylist() == [3]
    (bad,) = [json.loads(line) for line in Path(result.quarantine_path).read_text().splitlines()]
    assert (bad["line"], bad["offset"]) == (4, len(head) + len(b'{"n": 3}\n'))


def test_a_file_that_is_no_longer_its_registered_version_is_not_converted(tmp_path: Path) -> None:
    path = tmp_path / "a.ndjson"
    path.write_bytes(b'{"n": 1}\n')
    st = path.stat()
    version = local_version(st.st_size, st.st_mtime_ns)
    path.write_bytes(b'{"n": 1}\n{"n": 2}\n')  # appended between registration and conversion
    files = (InputFile("f0", str(path), st.st_size, version),)
    job = ConversionJob("m1", "ds", "2026-11-25", files, str(tmp_path / "out"), str(tmp_path / "q"))
    result = ArrowEngine().convert(job)
    assert result.ledgers["f0"].rejection.startswith(CHANGED_SINCE_REGISTRATION)
    assert result.ledgers["f0"].lines == 0 and result.outputs == ()
