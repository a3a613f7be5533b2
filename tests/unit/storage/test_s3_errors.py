"""What each S3 failure means to the pipeline: transient (retried), gone, or the user's to fix."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from ndjson2parquet.domain.errors import ConfigError, InputChanged, ObjectGone, Throttled, TransientError
from ndjson2parquet.storage.routing import RoutingStorage
from ndjson2parquet.storage.s3 import map_error, split_url


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("SlowDown", 503), Throttled),
        (client_error("", 503), Throttled),
        (client_error("InternalError", 500), TransientError),
        (client_error("RequestTimeout", 400), TransientError),
        (client_error("NoSuchKey", 404), ObjectGone),
        (client_error("404", 404), ObjectGone),  # HEAD answers carry no code but the status
        (client_error("NoSuchBucket", 404), ConfigError),
        (client_error("AccessDenied", 403), ConfigError),
        (client_error("PreconditionFailed", 412), InputChanged),
        (EndpointConnectionError(endpoint_url="http://x"), TransientError),
        (ConnectionClosedError(endpoint_url="http://x"), TransientError),
        (ReadTimeoutError(endpoint_url="http://x"), TransientError),
        (ConnectionResetError("reset by peer"), TransientError),
    ],
)
def test_each_failure_maps_to_its_meaning(error: Exception, expected: type[Exception]) -> None:
    mapped = map_error(error, "s3://b/k")
    assert type(mapped) is expected
    assert isinstance(mapped, ObjectGone) is (expected is ObjectGone)  # gone is never "unreadable" or transient


def test_an_error_that_is_not_botocore_s_is_left_as_it_is() -> None:
    error = ValueError("ours")
    assert map_error(error, "s3://b/k") is error


def test_urls_split_into_bucket_and_key() -> None:
    assert split_url("s3://bucket/a/b.json") == ("bucket", "a/b.json")
    assert split_url("s3://bucket") == ("bucket", "")
    with pytest.raises(ConfigError):
        split_url("s3:///key")
    with pytest.raises(ConfigError):
        split_url("/local/path")


def test_routing_sends_local_paths_to_the_local_backend_and_builds_s3_only_when_needed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    storage = RoutingStorage()
    storage.write_bytes(str(tmp_path / "x"), b"local")
    assert storage.read_bytes(str(tmp_path / "x")) == b"local"
    assert storage._s3 is None  # no client built for local work
    sentinel = object()
    routed = RoutingStorage(s3=sentinel)  # type: ignore[arg-type]
    assert routed.backend("s3://b/k") is sentinel and routed.backend(str(tmp_path)) is routed.local


def test_a_failed_managed_upload_maps_to_what_it_met() -> None:
    from boto3.exceptions import S3UploadFailedError

    wrapped = S3UploadFailedError("Failed to upload")
    wrapped.__context__ = client_error("SlowDown", 503)  # boto3 raises it inside `except ClientError`
    assert isinstance(map_error(wrapped, "s3://b/k"), Throttled)
