"""The commit record's format and the local record store."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ndjson2parquet.domain.errors import NotFound
from ndjson2parquet.domain.records import FileRecord, Ledger, Manifest, ObjectInfo
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.lake.commit_record import FORMAT, BadCommitRecord, CommitRecord
from ndjson2parquet.lake.record_store import RecordRef, StorageCommitRecords

ROOT = "/data/lake"
PART = f"{ROOT}/events/date=2026-11-25/part-m1-0.parquet"
SCHEMA = '{"format":"ndjson2parquet.schema/1","fields":[{"name":"id","type":"int64"}]}'


def _record(n: int = 2, manifest_id: str = "m1") -> CommitRecord:
    files = [
        FileRecord.new("events", "2026-11-25", ObjectInfo(f"/in/{i}.ndjson", f"{i}", "v1", 10 + i, 5.0), 6.0)
        for i in range(n)
    ]
    ledgers = {f.file_id: Ledger(3, 1, 2, 0, (PART,)) for f in files}
    ledgers[files[0].file_id] = Ledger(rejection="corrupt gzip")
    manifest = Manifest(manifest_id, "events", "2026-11-25", tuple(f.file_id for f in files), 21,
                        ManifestState.RUNNING, 7.0, 7.0, reason="drain", runs=1)  # fmt: skip
    return CommitRecord.of(
        manifest,
        files,
        ledgers,
        [(PART, 2 * (n - 1), 999)],
        root=ROOT,
        quarantine=f"{ROOT}/_quarantine/events/date=2026-11-25/{manifest_id}.ndjson",
        schema=SCHEMA,
        stats={"rows_written": 2 * (n - 1), "quarantine": "dropped: stored apart"},
        now=1_800_000_000.25,
    )


def test_a_record_keeps_outputs_relative_names_its_lake_and_reads_back_equal() -> None:
    record = _record()
    document = json.loads(record.to_json())
    assert document["format"] == FORMAT and document["committed_at"] == "2027-01-15T08:00:00.250Z"
    assert document["outputs"] == [{"path": "events/date=2026-11-25/part-m1-0.parquet", "rows": 2, "bytes": 999}]
    assert document["quarantine"] == "_quarantine/events/date=2026-11-25/m1.ndjson"
    assert document["schema"]["fields"] == [{"name": "id", "type": "int64"}]
    # a ledger names its parts as written, under the record's lake (re-rooted when read: test below)
    assert (
        document["lake"] + "/events/date=2026-11-25/part-m1-0.parquet" == document["files"][1]["ledger"]["outputs"][0]
    )
    assert CommitRecord.from_json(record.to_json()) == record


def test_every_ledger_field_travels_in_the_record() -> None:
    document = json.loads(_record().to_json())
    assert set(document["files"][0]["ledger"]) == {f.name for f in dataclasses.fields(Ledger)}


def test_a_record_becomes_a_settled_manifest_and_finished_files_under_any_root() -> None:
    manifest, files = _record().to_state("/moved/lake")
    assert (manifest.state, manifest.settled, manifest.runs, manifest.reason) == (
        ManifestState.SUCCEEDED, True, 1, "drain"
    )  # fmt: skip
    assert manifest.outputs == ("/moved/lake/events/date=2026-11-25/part-m1-0.parquet",)
    assert manifest.stats == {
        "rows_written": 2,
        "quarantine": "/moved/lake/_quarantine/events/date=2026-11-25/m1.ndjson",
    }
    assert manifest.updated_at == 1_800_000_000.25 and manifest.bytes == 21
    assert [f.state for f in files] == [FileState.REJECTED, FileState.DONE]
    assert files[1].ledger == Ledger(3, 1, 2, 0, manifest.outputs)
    assert all(f.manifest_id == "m1" and f.registered_at == 6.0 and f.arrived_at == 5.0 for f in files)


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[]", json.dumps({"format": "something/9"}).encode(), json.dumps({"format": FORMAT}).encode()],
)
def test_a_record_that_is_not_one_is_refused_with_its_name(data: bytes) -> None:
    with pytest.raises(BadCommitRecord, match=r"lake/x\.json"):
        CommitRecord.from_json(data, where="lake/x.json")


def test_the_local_store_writes_replaces_lists_and_deletes_records(tmp_path: Path) -> None:
    store = StorageCommitRecords(tmp_path)
    first, second = _record(manifest_id="m1"), _record(3, manifest_id="m2")
    store.write(first)
    store.write(second)
    store.write(dataclasses.replace(first, runs=2))  # a re-run replaces its record
    assert list(store.refs()) == [RecordRef("events", "2026-11-25", "m1"), RecordRef("events", "2026-11-25", "m2")]
    assert store.read(RecordRef("events", "2026-11-25", "m1")).runs == 2
    assert (tmp_path / "_manifests" / "events" / "date=2026-11-25" / "m2.json").is_file()
    assert not list(tmp_path.rglob(".*"))  # no temp file left
    store.delete(RecordRef("events", "2026-11-25", "m1"))
    store.delete(RecordRef("events", "2026-11-25", "m1"))  # nothing left to delete is fine
    assert list(store.refs()) == [RecordRef("events", "2026-11-25", "m2")]
    with pytest.raises(NotFound):
        store.read(RecordRef("events", "2026-11-25", "m1"))


def test_listing_skips_half_written_and_foreign_files_and_an_absent_folder(tmp_path: Path) -> None:
    store = StorageCommitRecords(tmp_path)
    assert list(store.refs()) == []
    folder = tmp_path / "_manifests" / "events" / "date=2026-11-25"
    folder.mkdir(parents=True)
    (folder / ".m9.json.tmp").write_text("{")
    (folder / "notes.txt").write_text("x")
    (tmp_path / "_manifests" / "events" / "other").mkdir()
    assert list(store.refs()) == []
    store.delete(RecordRef("events", "2026-11-25", "m9"))  # a crash mid-write: the half-written copy goes too
    assert not (folder / ".m9.json.tmp").exists()
