"""One case of the engine contract: an engine, where its inputs and outputs live, and an independent reader.

The reader (`Objects`) is the suite's own view of the storage, never the project's `Storage` port: a
local folder walked with `os`, or an S3 bucket listed with boto3 against the moto server. What an
engine wrote is judged by what that reader finds, so an engine cannot pass by agreeing with itself.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, Engine, InputFile
from ndjson2parquet.domain.records import local_version

DATASET = "events"
DATE = "2026-11-25"


class Objects(Protocol):
    """Reads and writes objects under URLs of one storage kind, independently of the engine."""

    def put(self, url: str, data: bytes) -> None:
        """Store `data` under `url` (parents created)."""

    def read(self, url: str) -> bytes:
        """The object's bytes."""

    def exists(self, url: str) -> bool:
        """True when there is an object under `url`."""

    def delete(self, url: str) -> None:
        """Remove the object."""

    def list(self, root: str) -> list[str]:
        """Every object under `root`, hidden and temporary ones included, as sorted paths relative to it."""

    def version(self, url: str) -> str:
        """The object's version as a listing registers it."""


class LocalObjects:
    """A local folder: URLs are absolute paths."""

    def put(self, url: str, data: bytes) -> None:
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        Path(url).write_bytes(data)

    def read(self, url: str) -> bytes:
        return Path(url).read_bytes()

    def exists(self, url: str) -> bool:
        return Path(url).exists()

    def delete(self, url: str) -> None:
        Path(url).unlink()

    def list(self, root: str) -> list[str]:
        found = []
        for folder, _, names in os.walk(root):
            found += [os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/") for name in names]
        return sorted(found)

    def version(self, url: str) -> str:
        status = os.stat(url)
        return local_version(status.st_size, status.st_mtime_ns)


class S3Objects:
    """An S3 bucket through a boto3 client (the moto server's): URLs are ``s3://bucket/key``."""

    def __init__(self, client: Any) -> None:
        self._s3 = client

    @staticmethod
    def _split(url: str) -> tuple[str, str]:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        return bucket, key

    def put(self, url: str, data: bytes) -> None:
        bucket, key = self._split(url)
        self._s3.put_object(Bucket=bucket, Key=key, Body=data)

    def read(self, url: str) -> bytes:
        bucket, key = self._split(url)
        return bytes(self._s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def exists(self, url: str) -> bool:
        bucket, key = self._split(url)
        listed = self._s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
        return any(item["Key"] == key for item in listed)

    def delete(self, url: str) -> None:
        bucket, key = self._split(url)
        self._s3.delete_object(Bucket=bucket, Key=key)

    def list(self, root: str) -> list[str]:
        bucket, prefix = self._split(root.rstrip("/") + "/")
        found = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found += [item["Key"][len(prefix) :] for item in page.get("Contents", [])]
        # multipart uploads not completed are invisible to readers, but left behind they cost money
        uploads = self._s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
        found += [f"(unfinished upload) {item['Key'][len(prefix) :]}" for item in uploads]
        return sorted(found)

    def version(self, url: str) -> str:
        bucket, key = self._split(url)
        return str(self._s3.head_object(Bucket=bucket, Key=key)["ETag"]).strip('"')


@dataclass
class EngineCase:
    """An engine under test, the root URL its case lives under, and the suite's own reader of that storage."""

    engine_name: str
    storage: str  # local, s3
    root: str  # a local folder or s3://bucket/prefix, empty at the start of the test
    objects: Objects
    make_engine: Callable[[], Engine]  # a fresh engine (a retry may run in another worker)

    def __post_init__(self) -> None:
        self.engine = self.make_engine()

    @property
    def output_root(self) -> str:
        return f"{self.root}/lake"

    @property
    def quarantine_root(self) -> str:
        return f"{self.root}/quarantine"

    def url(self, name: str) -> str:
        """Where an input named `name` lands."""
        return f"{self.root}/landing/{name}"

    def put_input(self, name: str, data: bytes) -> InputFile:
        """Land an input file and register it as the workflow would (its version); its file id is its name."""
        url = self.url(name)
        self.objects.put(url, data)
        return InputFile(file_id=name, uri=url, size=len(data), version=self.objects.version(url))

    def job(
        self,
        files: list[InputFile],
        manifest: str = "m1",
        schema: str | None = None,
        **options: Any,
    ) -> ConversionJob:
        """A job converting `files` into this case's lake."""
        return ConversionJob(
            manifest_id=manifest,
            dataset=DATASET,
            date=DATE,
            files=tuple(files),
            output_root=self.output_root,
            quarantine_root=self.quarantine_root,
            options=ConversionOptions(**options),
            schema_json=schema,
        )

    def convert(self, files: list[InputFile], manifest: str = "m1", **options: Any) -> ConversionResult:
        """Convert `files` as one manifest with this case's engine."""
        return self.engine.convert(self.job(files, manifest, **options))

    # --- reading back what the engine wrote ----------------------------------------------------

    def partition(self) -> str:
        """The folder URL of the case's (dataset, date) in the lake."""
        return f"{self.output_root}/{DATASET}/date={DATE}"

    def part_url(self, manifest: str, index: int) -> str:
        """Where part `index` of `manifest` must be."""
        return f"{self.partition()}/part-{manifest}-{index}.parquet"

    def quarantine_url(self, manifest: str) -> str:
        """Where the quarantine file of `manifest` must be."""
        return f"{self.quarantine_root}/{DATASET}/date={DATE}/{manifest}.ndjson"

    def table(self, url: str) -> pa.Table:
        """One part, read with pyarrow from the bytes the reader finds."""
        return pq.read_table(io.BytesIO(self.objects.read(url)))

    def rows(self, result: ConversionResult) -> list[dict[str, Any]]:
        """Every row of every part the result names, in part order."""
        return [row for output in result.outputs for row in self.table(output.path).to_pylist()]

    def quarantined(self, result: ConversionResult) -> list[dict[str, Any]]:
        """The quarantine records the result names (split on \\n only: a record may hold U+2028)."""
        if result.quarantine_path is None:
            return []
        text = self.objects.read(result.quarantine_path).decode("utf-8")
        return [json.loads(line) for line in text.split("\n") if line]
