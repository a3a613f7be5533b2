"""The steps' documents: JSON in and out, versioned, small whatever the manifest's size; what grows
with the manifest travels in a work object that the commit records' listing never mistakes for one."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ndjson2parquet.config.settings import ConversionOptions, StorePolicy
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, Engine, OutputFile
from ndjson2parquet.domain.records import FileRecord, Ledger
from ndjson2parquet.lake.record_store import StorageCommitRecords
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.storage.local import LocalStorage
from ndjson2parquet.workflow import steps
from ndjson2parquet.workflow.steps import (
    BadStepDocument,
    BadWorkObject,
    Conversion,
    StepContext,
    StepDocument,
    work_url,
)
from ndjson2parquet.workflow.steps.document import Next, Seen

OWNER = "sfn-execution:arn:aws:states:eu-west-1:123456789012:execution:ndjson2parquet:20261120-abc"
LIMIT = 64 * 1024


class _Ledgers(Engine):
    """Writes one small part and a ledger per input file, each naming the part and a quarantine file
    (what a 10,000-file manifest's conversion gives back, without reading 10,000 files)."""

    name = "ledgers"

    def _part(self, job: ConversionJob) -> Path:
        return Path(job.output_root) / job.dataset / f"date={job.date}" / f"part-{job.manifest_id}-0.parquet"

    def convert(self, job: ConversionJob) -> ConversionResult:
        part = self._part(job)
        part.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"n": list(range(len(job.files)))}), part)
        quarantine = f"{job.quarantine_root}/{job.dataset}/date={job.date}/{job.manifest_id}.ndjson"
        ledgers = {f.file_id: Ledger(3, 1, 1, 1, (str(part),), None, 0, f.size, 1, "ab" * 32) for f in job.files}
        out = OutputFile(str(part), len(job.files), part.stat().st_size)
        return ConversionResult(
            (out,),
            ledgers,
            None,
            rows_written=len(job.files),
            rows_quarantined=len(job.files),
            bytes_in=sum(f.size for f in job.files),
            quarantine_path=quarantine,
        )

    def remove_outputs(self, job: ConversionJob) -> None:
        self._part(job).unlink(missing_ok=True)


def _store_with_manifest(tmp_path: Path, files: int) -> tuple[SqliteStore, str]:
    store = SqliteStore(tmp_path / "state.db", policy=StorePolicy(owner_ttl_s=600.0))
    now = time.time()
    records = [
        FileRecord(
            file_id=f"{i:032x}",
            dataset="clicks",
            uri=f"s3://landing-bucket/clicks/2026/11/20/hour=13/part-{i:05d}-0b3c9a.ndjson.gz",
            version=f'"{i:032x}"',
            size=10_000 + i,
            date="2026-11-20",
            arrived_at=now,
            registered_at=now,
        )
        for i in range(files)
    ]
    store.register(records)
    manifest = store.claim(records, "max_files")
    assert manifest is not None
    return store, manifest.manifest_id


def _context(store: SqliteStore, lake: Path) -> StepContext:
    return StepContext(store, _Ledgers(), LocalStorage(), StorageCommitRecords(lake))


def test_a_document_round_trips_through_json_and_keeps_only_options_that_differ() -> None:
    doc = StepDocument.begin("m1", OWNER, "s3://lake", "s3://lake/_quarantine", ConversionOptions(strict=True))
    assert doc.options == {"strict": True}
    text = orjson.dumps(doc.to_json())
    assert StepDocument.from_json(orjson.loads(text)) == doc
    assert StepDocument.from_json(orjson.loads(text)).conversion_options == ConversionOptions(strict=True)


@pytest.mark.parametrize(
    "bad",
    [
        {"format": "something/1"},
        {"format": "ndjson2parquet.step/1"},
        {
            "format": "ndjson2parquet.step/1",
            "manifest_id": "m",
            "owner": "o",
            "lake": "l",
            "quarantine": "q",
            "state": "DANCING",
        },
        ["not", "a", "dict"],
    ],
)
def test_a_document_that_is_not_ours_is_refused_with_a_clear_error(bad: object) -> None:
    with pytest.raises(BadStepDocument, match="document"):
        StepDocument.from_json(bad)  # type: ignore[arg-type]


def test_a_long_error_is_cut_to_what_the_state_store_keeps() -> None:
    doc = StepDocument.begin("m1", OWNER, "/lake", "/q").then(Seen.RUNNING, Next.FAIL, error="x" * 100_000)
    assert doc.error is not None and len(doc.error) == 2000


def test_every_step_document_of_a_10000_file_manifest_is_far_below_64_kb(tmp_path: Path) -> None:
    store, manifest_id = _store_with_manifest(tmp_path, 10_000)
    lake = tmp_path / "lake"
    ctx = _context(store, lake)
    sizes: dict[str, int] = {}
    doc = StepDocument.begin(manifest_id, OWNER, str(lake), str(tmp_path / "q"), ConversionOptions(lineage=True))
    doc_json = doc.to_json()
    sizes["start (in)"] = len(orjson.dumps(doc_json))
    for name, step in (("start", steps.start), ("convert", steps.convert)):
        doc_json = step(ctx, doc_json)
        sizes[name] = len(orjson.dumps(doc_json))
    work = Path(doc_json["work"])
    assert doc_json["work"] == work_url(str(lake), manifest_id, 1)
    work_size = work.stat().st_size
    for name, step in (("commit", steps.commit), ("commit again", steps.commit)):
        doc_json = step(ctx, doc_json)
        sizes[name] = len(orjson.dumps(doc_json))
    failing = StepDocument.from_json(doc_json).then(Seen.RUNNING, Next.FAIL, error="E" * 50_000).to_json()
    sizes["fail (in, long error)"] = len(orjson.dumps(failing))
    print(f"\n10,000-file manifest: step documents {sizes} bytes; work object {work_size:,} bytes (by reference)")
    assert doc_json["state"] == "SUCCEEDED" and store.get_manifest(manifest_id).settled
    assert max(sizes.values()) < LIMIT
    assert work_size > 256 * 1024  # what would not fit in Step Functions' 256 KB travels by reference
    assert not work.exists()  # the commit removed it


def test_work_objects_are_never_listed_as_commit_records(tmp_path: Path) -> None:
    store, manifest_id = _store_with_manifest(tmp_path, 3)
    lake = tmp_path / "lake"
    ctx = _context(store, lake)
    doc = steps.convert(
        ctx, steps.start(ctx, StepDocument.begin(manifest_id, OWNER, str(lake), str(lake / "q")).to_json())
    )
    assert Path(doc["work"]).is_file() and "/_manifests/_work/" in doc["work"]
    records = StorageCommitRecords(lake)
    assert list(records.refs()) == []  # converted, not committed: no record, the work object is none
    steps.commit(ctx, doc)
    assert [r.manifest_id for r in records.refs()] == [manifest_id]


def test_a_commit_never_reads_another_runs_work_object_and_a_missing_one_fails_the_attempt(tmp_path: Path) -> None:
    store, manifest_id = _store_with_manifest(tmp_path, 3)
    lake = tmp_path / "lake"
    ctx = _context(store, lake)
    first = StepDocument.begin(manifest_id, OWNER, str(lake), str(lake / "q")).to_json()
    doc = steps.convert(ctx, steps.start(ctx, first))
    with pytest.raises(BadWorkObject, match="is run 1 of"):
        ctx.work.read(doc["work"], manifest_id, 2)
    with pytest.raises(BadWorkObject, match=r"not a ndjson2parquet\.work/1"):
        Conversion.from_json(b'{"format": "x"}', "here")
    Path(doc["work"]).unlink()  # lost between the steps
    failed = steps.commit(ctx, doc)
    assert (failed["state"], failed["next"]) == ("RUNNING", "fail") and "no work object" in failed["error"]
    ended = steps.fail(ctx, failed)
    assert ended["state"] == "COMPENSATED" and list(StorageCommitRecords(lake).refs()) == []
