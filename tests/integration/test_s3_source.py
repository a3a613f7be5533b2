"""An S3 landing zone on a local moto server: paginated listing, filtering, versions, dates, errors."""

from __future__ import annotations

import gzip
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ndjson2parquet.domain.errors import ConfigError
from ndjson2parquet.domain.partitioning import Partitioner
from ndjson2parquet.domain.records import Ledger, content_digest
from ndjson2parquet.domain.states import FileState
from ndjson2parquet.ingest.registration import ingest
from ndjson2parquet.ingest.sources import S3Source
from ndjson2parquet.state.dynamodb import DynamoDbStore
from ndjson2parquet.state.dynamodb.table import create_table
from ndjson2parquet.state.sqlite import SqliteStore
from tests.support.moto_server import MotoServer

BIG = 1_030  # more than one ListObjectsV2 page (1,000 keys)
NOT_INPUTS = ("in/2026-11-25/README.txt", "in/_tmp/x.ndjson", "in/2026-11-25/_partial.ndjson", "in/.hidden/y.ndjson")
LINE = b'{"id": 1}\n'


@pytest.fixture
def s3(moto: MotoServer) -> Any:
    """An S3 client bound to the moto server."""
    return moto.client("s3")


def new_bucket(s3: Any, keys: dict[str, bytes]) -> str:
    """A fresh bucket holding `keys`."""
    bucket = f"landing-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    for key, body in keys.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return bucket


@pytest.fixture(scope="module")
def big_bucket(moto: MotoServer) -> str:
    """1,030 inputs under `in/2026-11-25/`, some names that are not inputs, and keys outside the prefix."""
    keys = {f"in/2026-11-25/part-{i:05d}.ndjson": LINE for i in range(BIG)}
    keys.update({key: LINE for key in NOT_INPUTS})
    keys.update({"elsewhere/2026-11-25/z.ndjson": LINE, "input-sibling/a.ndjson": LINE})
    return new_bucket(moto.client("s3"), keys)


def count_list_calls(s3: Any) -> list[int]:
    """A counter of ListObjectsV2 requests, fed by botocore's event hooks."""
    calls = [0]

    def seen(**_: Any) -> None:
        calls[0] += 1

    s3.meta.events.register("before-call.s3.ListObjectsV2", seen)
    return calls


def test_listing_reads_a_prefix_page_by_page_and_skips_what_is_not_input(s3: Any, big_bucket: str) -> None:
    calls = count_list_calls(s3)
    source = S3Source(big_bucket, "in/", client=s3)
    objects = list(source.objects())
    assert calls[0] == 2  # 1,034 keys under the prefix: two pages
    assert len(objects) == BIG
    assert source.stats.skipped == len(NOT_INPUTS)
    first = objects[0]
    assert first.uri == f"s3://{big_bucket}/in/2026-11-25/part-00000.ndjson"
    assert first.key == "2026-11-25/part-00000.ndjson"  # relative to the prefix: dates are read from it
    assert first.size == len(LINE)
    assert all(o.uri.startswith(f"s3://{big_bucket}/in/") for o in objects)


def test_the_etag_is_the_version_and_a_rewritten_object_is_a_new_record(s3: Any, tmp_path: Path) -> None:
    bucket = new_bucket(s3, {"2026-11-25/a.ndjson": LINE, "2026-11-25/b.ndjson": LINE})
    store = SqliteStore(tmp_path / "state.db")
    source = S3Source.from_url(f"s3://{bucket}/", client=s3)
    etag = s3.head_object(Bucket=bucket, Key="2026-11-25/a.ndjson")["ETag"].strip('"')
    first = ingest(source, store, Partitioner(), now=1_000.0)
    assert (first.listed, first.new, first.already_known) == (2, 2, 0)
    assert [r.version for r in store.files_by_uri(f"s3://{bucket}/2026-11-25/a.ndjson")] == [etag]
    again = ingest(source, store, Partitioner(), now=2_000.0)
    assert (again.new, again.already_known) == (0, 2)  # same versions: nothing changes
    s3.put_object(Bucket=bucket, Key="2026-11-25/a.ndjson", Body=LINE + b'{"id": 2}\n')
    rewritten = ingest(source, store, Partitioner(), now=3_000.0)
    assert (rewritten.new, rewritten.already_known) == (1, 1)
    versions = store.files_by_uri(f"s3://{bucket}/2026-11-25/a.ndjson")
    assert len(versions) == 2 and versions[0].version == etag and versions[1].version != etag
    store.close()


def test_the_date_is_read_from_each_key_layout(s3: Any, tmp_path: Path) -> None:
    bucket = new_bucket(
        s3,
        {
            "landing/year=2026/month=11/day=25/a.ndjson": LINE,
            "landing/2026/11/24/b.jsonl.gz": gzip.compress(LINE),
            "landing/2026-11-23/c.json": LINE,
            "landing/undated/d.ndjson": LINE,
        },
    )
    store = SqliteStore(tmp_path / "state.db")
    ingest(S3Source(bucket, "landing/", client=s3), store, Partitioner(), now=1_000.0)
    uploaded = s3.head_object(Bucket=bucket, Key="landing/undated/d.ndjson")["LastModified"]
    dates = {d.date for d in store.dates()}
    # a key without a date belongs to the day it arrived (UTC)
    assert dates == {"2026-11-25", "2026-11-24", "2026-11-23", uploaded.strftime("%Y-%m-%d")}
    store.close()


def test_a_missing_bucket_is_a_config_error(s3: Any) -> None:
    source = S3Source(f"missing-{uuid.uuid4().hex[:12]}", "in/", client=s3)
    with pytest.raises(ConfigError, match="cannot list"):
        list(source.objects())


def test_ingest_registers_an_s3_landing_zone_into_dynamodb(moto: MotoServer, s3: Any, big_bucket: str) -> None:
    table = f"state-{uuid.uuid4().hex[:12]}"
    create_table(moto.client("dynamodb"), table)
    store = DynamoDbStore(table, client=moto.client("dynamodb"))
    source = S3Source(big_bucket, "in/", client=s3)
    report = ingest(source, store, Partitioner(default_dataset="events"), now=1_000.0)
    assert (report.listed, report.new, report.skipped) == (BIG, BIG, len(NOT_INPUTS))
    status = store.date_status("events", "2026-11-25")
    assert status is not None and status.files == {"PENDING": BIG}
    page = store.pending("events", "2026-11-25", 5)
    assert len(page.items) == 5 and page.cursor is not None
    assert all(r.uri.startswith(f"s3://{big_bucket}/in/2026-11-25/part-") and r.size == len(LINE) for r in page.items)
    again = ingest(S3Source(big_bucket, "in/", client=s3), store, Partitioner(default_dataset="events"), now=2_000.0)
    assert (again.new, again.already_known) == (0, BIG)
    store.close()


def _converted(store: SqliteStore, uri: str, body: bytes) -> None:
    """Mark the only pending version of `uri` converted, as a run would, with its ledger over `body`."""
    (record,) = store.files_by_uri(uri)
    manifest = store.start(store.claim([record], "max_files").manifest_id, "me")  # type: ignore[union-attr]
    ledger = Ledger(lines=body.count(b"\n"), rows_written=body.count(b"\n"), end_offset=len(body))
    store.succeed(manifest, "me", [], {record.file_id: replace(ledger, digest=content_digest(body))})


def test_an_s3_object_uploaded_again_is_compared_by_its_converted_bytes(s3: Any, tmp_path: Path) -> None:
    key = "in/2026-11-25/a.ndjson"
    bucket = new_bucket(s3, {key: LINE})
    uri = f"s3://{bucket}/{key}"
    store = SqliteStore(tmp_path / "state.db")
    source = S3Source.from_url(f"s3://{bucket}/in", client=s3)
    ingest(source, store, Partitioner())
    _converted(store, uri, LINE)
    s3.put_object(Bucket=bucket, Key=key, Body=LINE + b'{"id": 2}\n')  # appended: a continuation
    assert ingest(source, store, Partitioner()).continued == 1
    assert [r.start_offset for r in store.files_by_uri(uri)] == [0, len(LINE)]
    s3.put_object(Bucket=bucket, Key=key, Body=b'{"id": 9}\n')  # rewritten: reported
    report = ingest(source, store, Partitioner())
    assert [c["uri"] for c in report.changed] == [uri]
    assert store.files_by_uri(uri)[-1].state == FileState.CHANGED
