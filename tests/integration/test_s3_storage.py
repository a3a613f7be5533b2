"""S3Storage on a moto server: round trips, ranges, streaming, pagination, batched deletes, and the
error mapping (throttling and broken connections retried, then TransientError; 404 ObjectGone)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from ndjson2parquet.backoff import Backoff
from ndjson2parquet.domain.errors import ConfigError, ObjectGone, Throttled, TransientError
from ndjson2parquet.storage import open_storage
from ndjson2parquet.storage.routing import RoutingStorage
from ndjson2parquet.storage.s3 import S3Storage
from tests.support.moto_server import MotoServer

MANY = 1_005  # more than one ListObjectsV2 page and one DeleteObjects batch


@pytest.fixture
def s3(moto: MotoServer) -> Any:
    return moto.client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"lake-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def no_sleep(_: float) -> None:
    pass


def counting(s3: Any, operation: str) -> list[int]:
    calls = [0]

    def seen(**_: Any) -> None:
        calls[0] += 1

    s3.meta.events.register(f"before-call.s3.{operation}", seen)
    return calls


def test_round_trip_ranges_and_info(s3: Any, bucket: str) -> None:
    storage = S3Storage(client=s3)
    url = f"s3://{bucket}/a/b.ndjson"
    storage.write_bytes(url, b"0123456789")
    assert storage.read_bytes(url) == b"0123456789"
    assert storage.read_bytes(url, 3, 4) == b"3456"
    assert storage.read_bytes(url, 8) == b"89"
    assert storage.read_bytes(url, 10) == b""
    found = storage.info(url)
    assert found is not None and found.size == 10 and found.version
    assert storage.info(f"s3://{bucket}/a/none") is None


def test_open_write_is_invisible_until_complete_and_sends_nothing_on_error(s3: Any, bucket: str) -> None:
    storage = S3Storage(client=s3)
    url = f"s3://{bucket}/p/part.parquet"
    with storage.open_write(url) as out:
        out.write(b"x" * 100)
        assert storage.info(url) is None
    assert storage.read_bytes(url) == b"x" * 100
    with pytest.raises(RuntimeError), storage.open_write(f"s3://{bucket}/p/other") as out:
        out.write(b"half")
        raise RuntimeError("boom")
    assert storage.info(f"s3://{bucket}/p/other") is None


def test_large_writes_go_multipart_and_stream_back(s3: Any, bucket: str) -> None:
    storage = S3Storage(client=s3)
    url = f"s3://{bucket}/big.bin"
    data = bytes(range(256)) * (40 * 1024 * 4)  # 40 MiB: above the multipart threshold
    multipart = counting(s3, "CreateMultipartUpload")
    with storage.open_write(url) as out:
        out.write(data)
    assert multipart[0] == 1
    with storage.open_read(url) as stream:
        pieces = iter(lambda: stream.read(1 << 20), b"")
        assert b"".join(pieces) == data


def test_a_missing_object_is_object_gone(s3: Any, bucket: str) -> None:
    storage = S3Storage(client=s3)
    with pytest.raises(ObjectGone):
        storage.read_bytes(f"s3://{bucket}/nothing")
    with pytest.raises(ObjectGone), storage.open_read(f"s3://{bucket}/nothing"):
        pass


def test_a_missing_bucket_is_a_config_error(s3: Any) -> None:
    with pytest.raises(ConfigError):
        list(S3Storage(client=s3).list(f"s3://no-such-{uuid.uuid4().hex[:8]}/x"))


def test_listing_and_deleting_go_past_one_page(s3: Any, bucket: str) -> None:
    storage = S3Storage(client=s3)
    for i in range(MANY):
        s3.put_object(Bucket=bucket, Key=f"lake/k-{i:05d}", Body=b"x")
    s3.put_object(Bucket=bucket, Key="lakeside/not-under", Body=b"x")
    lists, deletes = counting(s3, "ListObjectsV2"), counting(s3, "DeleteObjects")
    urls = [o.url for o in storage.list(f"s3://{bucket}/lake")]
    assert len(urls) == MANY and lists[0] == 2
    storage.delete([*urls, f"s3://{bucket}/lake/never-was"])
    assert deletes[0] == 2
    assert [o.url for o in storage.list(f"s3://{bucket}/")] == [f"s3://{bucket}/lakeside/not-under"]


class Flaky:
    """A client whose first `failures` calls of one operation fail with `error`, then pass through."""

    def __init__(self, real: Any, operation: str, error: Exception, failures: int) -> None:
        self._real, self._operation, self._error, self.left = real, operation, error, failures
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._real, name)
        if name != self._operation:
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.left > 0:
                self.left -= 1
                raise self._error
            return method(*args, **kwargs)

        return call


def slow_down() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
            "ResponseMetadata": {"HTTPStatusCode": 503},
        },
        "GetObject",
    )


@pytest.mark.parametrize(
    "error", [slow_down(), EndpointConnectionError(endpoint_url="http://127.0.0.1:1")], ids=["503", "connection"]
)
def test_throttling_and_connection_errors_are_retried(s3: Any, bucket: str, error: Exception) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"body")
    flaky = Flaky(s3, "get_object", error, failures=2)
    storage = S3Storage(client=flaky, backoff=Backoff(attempts=4), sleep=no_sleep)
    assert storage.read_bytes(f"s3://{bucket}/k") == b"body"
    assert flaky.calls == 3


def test_what_outlasts_the_retries_is_transient(s3: Any, bucket: str) -> None:
    flaky = Flaky(s3, "put_object", slow_down(), failures=10)
    storage = S3Storage(client=flaky, backoff=Backoff(attempts=3), sleep=no_sleep)
    with pytest.raises(Throttled) as caught:
        storage.write_bytes(f"s3://{bucket}/k", b"x")
    assert isinstance(caught.value, TransientError) and flaky.calls == 3


class BreakingBody:
    """A body that hands out `good` bytes and then breaks like a reset connection."""

    def __init__(self, body: Any, good: int) -> None:
        self._body, self._good = body, good

    def read(self, n: int = -1) -> bytes:
        if self._good <= 0:
            raise ConnectionResetError("reset by peer")
        data = self._body.read(min(n, self._good))
        self._good -= len(data)
        return data

    def close(self) -> None:
        self._body.close()


def test_a_stream_broken_mid_body_resumes_where_it_stopped(s3: Any, bucket: str) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB
    s3.put_object(Bucket=bucket, Key="big", Body=data)

    class OnceBroken:
        def __init__(self) -> None:
            self.ranges: list[str | None] = []

        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def get_object(self, **kwargs: Any) -> Any:
            self.ranges.append(kwargs.get("Range"))
            answer = s3.get_object(**kwargs)
            if len(self.ranges) == 1:
                answer["Body"] = BreakingBody(answer["Body"], good=300_000)
            return answer

    client = OnceBroken()
    storage = S3Storage(client=client, sleep=no_sleep)
    with storage.open_read(f"s3://{bucket}/big") as stream:
        assert stream.read() == data
    assert client.ranges == [None, "bytes=300000-"]


def test_open_storage_builds_a_client_from_the_standard_environment(
    moto: MotoServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    storage = open_storage(f"s3://{bucket}/x")
    storage.write_bytes(f"s3://{bucket}/x/y", b"env")
    assert storage.read_bytes(f"s3://{bucket}/x/y") == b"env"


def test_leftover_parts_are_found_by_the_manifest_key_prefix_and_deleted_in_batches(s3: Any, bucket: str) -> None:
    from ndjson2parquet.conversion.arrow.parquet_output import manifest_parts, remove_leftovers

    storage = S3Storage(client=s3)
    folder = f"s3://{bucket}/lake/ds/date=2026-11-25"
    for i in range(MANY):
        s3.put_object(Bucket=bucket, Key=f"lake/ds/date=2026-11-25/part-m1-{i}.parquet", Body=b"x")
    for other in ("part-m10-0.parquet", "part-m2-0.parquet", "m1.ndjson"):
        s3.put_object(Bucket=bucket, Key=f"lake/ds/date=2026-11-25/{other}", Body=b"x")
    lists, deletes = counting(s3, "ListObjectsV2"), counting(s3, "DeleteObjects")
    assert len(manifest_parts(folder, "m1", storage)) == MANY
    keep = {f"{folder}/part-m1-0.parquet"}
    removed = remove_leftovers(folder, "m1", keep, storage)
    assert len(removed) == MANY - 1 and deletes[0] == 2  # 1,004 keys: batches of at most 1,000
    left = sorted(o.url.rsplit("/", 1)[-1] for o in storage.list(folder))
    assert left == ["m1.ndjson", "part-m1-0.parquet", "part-m10-0.parquet", "part-m2-0.parquet"]
    assert lists[0] == 5  # 2 pages for each listing by the prefix `part-m1-`, 1 for the check


def test_copy_is_server_side_within_s3_and_streamed_from_a_local_file(s3: Any, bucket: str, tmp_path: Any) -> None:
    storage = S3Storage(client=s3)
    data = bytes(range(256)) * 4096
    storage.write_bytes(f"s3://{bucket}/landing/a.gz", data)
    copies, gets = counting(s3, "CopyObject"), counting(s3, "GetObject")
    storage.copy(f"s3://{bucket}/landing/a.gz", f"s3://{bucket}/q/_rejected/m/a.gz")
    storage.copy(f"s3://{bucket}/landing/a.gz", f"s3://{bucket}/q/_rejected/m/a.gz")  # idempotent
    assert storage.read_bytes(f"s3://{bucket}/q/_rejected/m/a.gz") == data
    assert copies[0] == 2 and gets[0] == 1  # the one GET is the check above: the copies read nothing here
    with pytest.raises(ObjectGone):
        storage.copy(f"s3://{bucket}/landing/absent", f"s3://{bucket}/q/x")

    local = tmp_path / "local.bin"
    local.write_bytes(data)
    RoutingStorage(s3=storage).copy(str(local), f"s3://{bucket}/q/from-local.bin")
    assert storage.read_bytes(f"s3://{bucket}/q/from-local.bin") == data
