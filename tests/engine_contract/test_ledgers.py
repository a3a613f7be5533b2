"""Ledgers: every file accounted for, a file that cannot be read rejected with its reason, continuations."""

from __future__ import annotations

import gzip
import hashlib

import zstandard

from ndjson2parquet.domain.records import CHANGED_SINCE_REGISTRATION, GONE
from tests.engine_contract.case import EngineCase


def test_files_that_cannot_be_read_are_rejected_with_their_reason_and_the_rest_converts(
    engine_case: EngineCase,
) -> None:
    good = engine_case.put_input("good.ndjson", b'{"a":1}\n{"a":2}\n')
    corrupt_gzip = engine_case.put_input("cut.ndjson.gz", gzip.compress(b'{"a":3}\n' * 100)[:-8])
    corrupt_zstd = engine_case.put_input("cut.ndjson.zst", zstandard.ZstdCompressor().compress(b'{"a":4}\n' * 99)[:-4])
    utf16 = engine_case.put_input("wide.ndjson", '{"a":5}\n{"a":6}\n'.encode("utf-16"))  # with its BOM
    utf16_bare = engine_case.put_input("wide-bare.ndjson", '{"a":7}\n'.encode("utf-16-le"))
    gone = engine_case.put_input("gone.ndjson", b'{"a":8}\n')
    engine_case.objects.delete(gone.uri)  # registered, then deleted before conversion
    files = [corrupt_gzip, good, corrupt_zstd, utf16, gone, utf16_bare]
    result = engine_case.convert(files)

    reasons = {name: result.ledgers[name].rejection or "" for name in result.ledgers}
    assert "gzip" in reasons[corrupt_gzip.file_id] and "zstd" in reasons[corrupt_zstd.file_id]
    assert "UTF-16" in reasons[utf16.file_id] and "UTF-16" in reasons[utf16_bare.file_id]
    assert reasons[gone.file_id].startswith(GONE)
    for rejected in (corrupt_gzip, corrupt_zstd, utf16, gone, utf16_bare):
        ledger = result.ledgers[rejected.file_id]
        assert (ledger.lines, ledger.rows_written, ledger.rows_quarantined, ledger.outputs) == (0, 0, 0, ())
    ledger = result.ledgers[good.file_id]
    assert ledger.rejection is None and (ledger.lines, ledger.rows_written) == (2, 2)
    assert sorted(row["a"] for row in engine_case.rows(result)) == [1, 2] and result.rows_written == 2
    assert result.quarantine_path is None  # a rejection is told by the ledger, not by quarantine records


def test_a_manifest_of_rejected_files_only_writes_nothing(engine_case: EngineCase) -> None:
    broken = engine_case.put_input("cut.ndjson.gz", gzip.compress(b'{"a":3}\n' * 100)[:-8])
    result = engine_case.convert([broken])
    assert result.outputs == () and result.rows_written == 0 and result.ledgers[broken.file_id].rejection
    assert engine_case.objects.list(engine_case.root) == ["landing/cut.ndjson.gz"]


def test_every_ledger_balances_and_names_the_parts_its_rows_went_to(engine_case: EngineCase) -> None:
    bodies = {
        "a.ndjson": b'{"n":1}\n\nbad\n{"n":2}\n',
        "b.ndjson": b"\n\n",  # nothing but blank lines: no rows, no part
        "c.ndjson": b"",  # empty
        "d.ndjson": b"".join(b'{"n":%d,"pad":"%s"}\n' % (n, b"z" * 300) for n in range(2000)),
    }
    files = [engine_case.put_input(name, body) for name, body in bodies.items()]
    result = engine_case.convert(files, target_file_bytes=200_000, lineage=True)
    counts = {name: (result.ledgers[name].lines, result.ledgers[name].blank) for name in bodies}
    assert counts == {"a.ndjson": (4, 1), "b.ndjson": (2, 2), "c.ndjson": (0, 0), "d.ndjson": (2000, 0)}
    for input_file in files:
        ledger = result.ledgers[input_file.file_id]
        assert ledger.lines == ledger.blank + ledger.rows_written + ledger.rows_quarantined
        assert (ledger.start_offset, ledger.end_offset, ledger.first_line) == (0, input_file.size, 1)
        assert ledger.digest == hashlib.sha256(bodies[input_file.file_id]).hexdigest()
        parts_with_its_rows = {
            output.path
            for output in result.outputs
            if input_file.uri in engine_case.table(output.path).column("_source_file").to_pylist()
        }
        assert set(ledger.outputs) == parts_with_its_rows
    assert len(result.ledgers["d.ndjson"].outputs) > 1  # its rows span several parts
    assert result.rows_written == sum(ledger.rows_written for ledger in result.ledgers.values()) == 2002


def test_a_continuation_converts_only_the_tail_with_its_lines_numbered_on(engine_case: EngineCase) -> None:
    head, tail = b'{"n": 1}\n{"n": 2}\n', b'{"n": 3}\nnot json\n\n{"n": 4}\n'
    whole = engine_case.put_input("grown.ndjson", head + tail)
    continued = type(whole)(whole.file_id, whole.uri, whole.size, whole.version, start_offset=len(head), first_line=3)
    result = engine_case.convert([continued], lineage=True)

    ledger = result.ledgers[whole.file_id]
    assert (ledger.lines, ledger.blank, ledger.rows_written, ledger.rows_quarantined) == (4, 1, 2, 1)
    assert (ledger.start_offset, ledger.end_offset, ledger.first_line) == (len(head), len(head + tail), 3)
    assert ledger.digest == hashlib.sha256(head + tail).hexdigest()  # of the whole prefix, head included
    rows = sorted(engine_case.rows(result), key=lambda row: row["_source_line"])
    assert [(row["n"], row["_source_line"]) for row in rows] == [(3, 3), (4, 6)]
    (bad,) = engine_case.quarantined(result)
    assert (bad["source"], bad["line"], bad["offset"], bad["raw"]) == (
        whole.uri,
        4,
        len(head) + len(b'{"n": 3}\n'),
        "not json",
    )


def test_a_file_that_is_no_longer_its_registered_version_is_not_converted(engine_case: EngineCase) -> None:
    registered = engine_case.put_input("a.ndjson", b'{"n": 1}\n')
    engine_case.objects.put(registered.uri, b'{"n": 1}\n{"n": 2}\n')  # rewritten after registration
    other = engine_case.put_input("b.ndjson", b'{"n": 3}\n')
    result = engine_case.convert([registered, other])
    ledger = result.ledgers[registered.file_id]
    assert (ledger.rejection or "").startswith(CHANGED_SINCE_REGISTRATION)
    assert (ledger.lines, ledger.rows_written, ledger.outputs) == (0, 0, ())
    assert [row["n"] for row in engine_case.rows(result)] == [3]


def test_a_compressed_file_is_never_continued(engine_case: EngineCase) -> None:
    head = b'{"n": 1}\n'
    whole = engine_case.put_input("grown.ndjson.gz", gzip.compress(head + b'{"n": 2}\n'))
    continued = type(whole)(whole.file_id, whole.uri, whole.size, whole.version, start_offset=len(head), first_line=2)
    result = engine_case.convert([continued])
    ledger = result.ledgers[whole.file_id]
    assert "compressed" in (ledger.rejection or "") and (ledger.lines, ledger.outputs) == (0, ())
