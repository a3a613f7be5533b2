"""S3 behind the storage port, over boto3 (chosen by measurement: see README "Storage").

Endpoint, credentials and region are found the standard way by botocore (``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``..., ``AWS_REGION``, profiles, instance roles), so moto on
loopback, MinIO and AWS all work unchanged; a client may be injected instead.

Errors are mapped once, here: throttling (503 SlowDown, 500s, RequestTimeout) and connection errors
are retried with ``Backoff`` and what remains is ``TransientError``; a missing key is ``ObjectGone``;
a missing bucket or a refused access is ``ConfigError`` (retrying cannot help).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO, TypeVar

from ..backoff import Backoff
from ..domain.errors import ConfigError, InputChanged, ObjectGone, PipelineError, Throttled, TransientError
from .base import Storage, StoredObject

T = TypeVar("T")

#: the most keys one DeleteObjects request takes
DELETE_BATCH = 1000
#: objects larger than this are uploaded in parts (multipart upload, visible when it completes)
SPOOL_BYTES = 8 * 1024 * 1024
#: the largest object one CopyObject request copies (above: a multipart copy)
COPY_OBJECT_BYTES = 5 * 1024**3
#: how much a streaming read asks for per ranged GET when it has to resume
READ_BUFFER = 1024 * 1024

_THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests"}
_TRANSIENT = {"InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeTooSkewed", "OperationAborted"}
_GONE = {"NoSuchKey", "404", "NotFound"}
_CONFIG = {"NoSuchBucket", "AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key)."""
    if not url.startswith("s3://") or len(url) <= 5:
        raise ConfigError(f"not an s3:// url: {url}")
    bucket, _, key = url[5:].partition("/")
    if not bucket:
        raise ConfigError(f"no bucket in {url}")
    return bucket, key


def default_client() -> Any:
    """An S3 client configured the standard way; botocore's own retries are left to ``Backoff``."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, max_pool_connections=32)
    return boto3.session.Session().client("s3", config=config)


def map_error(exc: BaseException, url: str) -> BaseException:
    """A botocore exception as one of ours (or the same exception when it is not botocore's)."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        ReadTimeoutError,
        ResponseStreamingError,
    )

    if isinstance(exc, S3UploadFailedError) and exc.__context__ is not None:
        return map_error(exc.__context__, url)  # the managed upload wraps the ClientError it met
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _THROTTLED or status == 503:
            return Throttled(f"S3 throttled {url}: {code or status}")
        if code in _GONE or (status == 404 and code != "NoSuchBucket"):
            return ObjectGone(f"not there: {url}", uri=url)
        if code in ("PreconditionFailed", "412"):
            return InputChanged(f"{url} changed while it was read", uri=url)
        if code in _CONFIG or status == 403:
            return ConfigError(f"cannot reach {url}: {code} {error.get('Message', '')}".rstrip())
        if code in _TRANSIENT or status >= 500:
            return TransientError(f"S3 error on {url}: {code or status}")
        return ConfigError(f"S3 refused a request on {url}: {code} {error.get('Message', '')}".rstrip())
    if isinstance(exc, NoCredentialsError):
        return ConfigError(f"no AWS credentials to reach {url}")
    if isinstance(
        exc, ConnectionError | ConnectionClosedError | ReadTimeoutError | HTTPClientError | ResponseStreamingError
    ):
        return TransientError(f"connection to S3 failed on {url}: {exc}")
    if isinstance(exc, BotoCoreError):
        return ConfigError(f"S3 request on {url} failed: {exc}")
    if isinstance(exc, OSError | ConnectionResetError):  # a socket reset while streaming a body
        return TransientError(f"connection to S3 failed on {url}: {exc}")
    return exc


class S3Storage(Storage):
    """Objects in S3 buckets; URLs are ``s3://bucket/key``."""

    def __init__(
        self, client: Any = None, *, backoff: Backoff | None = None, sleep: Callable[[float], None] | None = None
    ) -> None:
        self.client = client if client is not None else default_client()
        self.backoff = backoff or Backoff(base=0.1, cap=5.0, attempts=6)
        self._sleep = sleep

    # --- the one retry loop ---------------------------------------------------------------------

    def _call(self, url: str, fn: Callable[[], T]) -> T:
        """Run one request: our errors out, transient ones retried with backoff."""

        def attempt() -> T:
            try:
                return fn()
            except PipelineError:
                raise
            except Exception as exc:
                mapped = map_error(exc, url)
                if mapped is exc:
                    raise
                raise mapped from exc

        if self._sleep is None:
            return self.backoff.call(attempt)
        return self.backoff.call(attempt, sleep=self._sleep)

    # --- reads ----------------------------------------------------------------------------------

    def read_bytes(self, url: str, start: int = 0, length: int | None = None) -> bytes:
        """One GET (ranged when ``start`` or ``length`` is given)."""
        if length == 0:
            return b""
        bucket, key = split_url(url)
        extra: dict[str, str] = {}
        if start or length is not None:
            extra["Range"] = f"bytes={start}-{'' if length is None else start + length - 1}"

        def get() -> bytes:
            try:
                return bytes(self.client.get_object(Bucket=bucket, Key=key, **extra)["Body"].read())
            except Exception as exc:
                if _code(exc) == "InvalidRange":  # start at or past the end: nothing to read
                    return b""
                raise

        return self._call(url, get)

    @contextlib.contextmanager
    def open_read(self, url: str) -> Iterator[BinaryIO]:
        """A buffered stream over one GET; a connection lost mid-body resumes with a ranged GET of
        the same version (If-Match on its ETag), so objects larger than memory stream through."""
        bucket, key = split_url(url)
        raw = _ResumableBody(self, url, bucket, key)
        raw.start()
        stream = io.BufferedReader(raw, buffer_size=READ_BUFFER)
        try:
            yield stream  # type: ignore[misc]
        finally:
            stream.close()

    def info(self, url: str) -> StoredObject | None:
        """HEAD the object: None when it is not there."""
        bucket, key = split_url(url)
        try:
            head = self._call(url, lambda: self.client.head_object(Bucket=bucket, Key=key))
        except ObjectGone:
            return None
        return StoredObject(
            url=url,
            size=int(head["ContentLength"]),
            modified_at=head["LastModified"].timestamp(),
            version=str(head["ETag"]).strip('"'),
        )

    def list(self, prefix: str) -> Iterator[StoredObject]:
        """ListObjectsV2 one page (1,000 keys) at a time, each page retried on its own."""
        return self._pages(prefix, exact=False)

    def _pages(self, prefix: str, *, exact: bool) -> Iterator[StoredObject]:
        bucket, key = split_url(prefix)
        if key and not key.endswith("/") and not exact:
            key += "/"  # a folder: `lake/a` must not list `lake/ab/...`
        token: str | None = None
        while True:
            args: dict[str, Any] = {"Bucket": bucket, "Prefix": key}
            if token:
                args["ContinuationToken"] = token
            page = self._call(prefix, lambda args=args: self.client.list_objects_v2(**args))
            for item in page.get("Contents", []):
                yield StoredObject(
                    url=f"s3://{bucket}/{item['Key']}",
                    size=int(item["Size"]),
                    modified_at=item["LastModified"].timestamp(),
                    version=str(item["ETag"]).strip('"'),
                )
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    # --- writes ---------------------------------------------------------------------------------

    def write_bytes(self, url: str, data: bytes) -> None:
        """One PUT: the object is visible whole or not at all."""
        bucket, key = split_url(url)
        self._call(url, lambda: self.client.put_object(Bucket=bucket, Key=key, Body=data))

    @contextlib.contextmanager
    def open_write(self, url: str) -> Iterator[BinaryIO]:
        """Spooled locally (memory, then a temp file past 8 MiB) and uploaded when the block exits
        cleanly: one PUT or a multipart upload, visible only when complete. Nothing is sent on error."""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            yield spool  # type: ignore[misc]
            self._upload(spool, url)

    def copy(self, source: str, target: str) -> None:
        """Server-side: CopyObject up to 5 GiB, boto3's managed multipart copy above; the bytes never
        pass through here. A source in another bucket is fine (the caller's role must read it)."""
        src_bucket, src_key = split_url(source)
        bucket, key = split_url(target)
        where = f"{source} -> {target}"
        size = self._call(source, lambda: self.client.head_object(Bucket=src_bucket, Key=src_key))["ContentLength"]

        def send() -> None:
            copy_source = {"Bucket": src_bucket, "Key": src_key}
            if int(size) <= COPY_OBJECT_BYTES:
                self.client.copy_object(Bucket=bucket, Key=key, CopySource=copy_source)
            else:
                self.client.copy(copy_source, bucket, key)

        self._call(where, send)

    def publish_file(self, local_path: str, url: str) -> None:
        """Upload a finished local file (multipart when large), then remove the local copy."""
        with open(local_path, "rb") as handle:
            self._upload(handle, url)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(local_path)

    def staging_path(self, url: str) -> str:
        """A fresh local temp file (its name ends like the key's), uploaded by ``publish_file``."""
        fd, path = tempfile.mkstemp(prefix=".n2p-", suffix="-" + url.rsplit("/", 1)[-1])
        os.close(fd)
        return path

    def list_starting(self, url_prefix: str) -> Iterator[StoredObject]:
        """ListObjectsV2 on the raw key prefix (``.../part-<manifest_id>-``), page by page."""
        return self._pages(url_prefix, exact=True)

    def _upload(self, handle: Any, url: str) -> None:
        """One PUT up to 8 MiB; above, boto3's managed multipart upload (aborted by it on failure)."""
        bucket, key = split_url(url)
        size = handle.seek(0, os.SEEK_END)

        def put() -> None:
            handle.seek(0)
            if size <= SPOOL_BYTES:
                self.client.put_object(Bucket=bucket, Key=key, Body=handle.read())
            else:
                self.client.upload_fileobj(handle, bucket, key)

        self._call(url, put)

    def delete(self, urls: Iterable[str]) -> None:
        """DeleteObjects, 1,000 keys a request, per bucket; absent keys are fine."""
        batch: list[str] = []
        bucket_of_batch: str | None = None
        for url in urls:
            bucket, key = split_url(url)
            if batch and (bucket != bucket_of_batch or len(batch) == DELETE_BATCH):
                self._delete_batch(bucket_of_batch or bucket, batch)
                batch = []
            bucket_of_batch = bucket
            batch.append(key)
        if batch and bucket_of_batch is not None:
            self._delete_batch(bucket_of_batch, batch)

    def _delete_batch(self, bucket: str, keys: list[str]) -> None:
        where = f"s3://{bucket}/{keys[0]}"
        pending = list(keys)

        def send() -> None:
            nonlocal pending
            answer = self.client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in pending], "Quiet": True}
            )
            errors = answer.get("Errors") or []
            failed = [e["Key"] for e in errors if e.get("Code") != "NoSuchKey"]
            if failed:  # the rest went: only the failed keys are sent again
                pending = failed
                raise TransientError(f"S3 did not delete {len(failed)} keys under s3://{bucket}/: {errors[0]}")

        self._call(where, send)


class _ResumableBody(io.RawIOBase):
    """The body of one GET, resumed from where it stopped by a ranged GET if the connection breaks."""

    def __init__(self, storage: S3Storage, url: str, bucket: str, key: str) -> None:
        self._storage, self._url, self._bucket, self._key = storage, url, bucket, key
        self._body: Any = None
        self._etag: str | None = None
        self._position = 0

    def start(self) -> None:
        self._open()

    def readable(self) -> bool:
        return True

    def _open(self) -> None:
        args: dict[str, Any] = {"Bucket": self._bucket, "Key": self._key}
        if self._position:
            args["Range"] = f"bytes={self._position}-"
        if self._etag:
            args["IfMatch"] = self._etag

        def get() -> Any:
            try:
                return self._storage.client.get_object(**args)
            except Exception as exc:
                if self._position and _code(exc) == "InvalidRange":  # it broke after the last byte
                    return {"Body": io.BytesIO(b""), "ETag": self._etag}
                raise

        answer = self._storage._call(self._url, get)
        self._etag = self._etag or answer.get("ETag")
        self._body = answer["Body"]

    def readinto(self, buffer: Any) -> int:
        for attempt in range(self._storage.backoff.attempts):
            try:
                data = self._body.read(len(buffer))
            except Exception as exc:
                mapped = map_error(exc, self._url)
                if not isinstance(mapped, TransientError) or attempt == self._storage.backoff.attempts - 1:
                    raise (mapped if mapped is not exc else exc) from exc
                with contextlib.suppress(Exception):
                    self._body.close()
                (self._storage._sleep or _sleep)(self._storage.backoff.delay(attempt))
                self._open()
                continue
            n = len(data)
            buffer[:n] = data
            self._position += n
            return n
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._body is not None:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


def _sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
