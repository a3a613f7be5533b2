"""Exactly once on S3 when killed: `run` from an S3 landing zone into an S3 lake on a moto server.

The children talk to the test's moto server the standard way (``AWS_ENDPOINT_URL`` and dummy
credentials in their environment); the state is a local SQLite file.
"""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ndjson2parquet.sample.generator import generate
from ndjson2parquet.state import open_store
from tests.support.lake import input_event_ids
from tests.support.moto_server import MotoServer

CRASHY_BATCHES = ["--max-files", "3", "--workers", "2", "--grace-hours", "0"]


def _upload(s3: Any, bucket: str, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.put_object(Bucket=bucket, Key=f"{prefix}/{path.relative_to(folder).as_posix()}", Body=path.read_bytes())


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def _lake_ids(s3: Any, bucket: str) -> Counter[str]:
    """event_id of every row of every part under the lake prefix, read back with pyarrow."""
    ids: Counter[str] = Counter()
    for key in _keys(s3, bucket, "lake/"):
        if key.rsplit("/", 1)[-1].startswith("part-") and not key.startswith("lake/_"):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            ids.update(pq.read_table(io.BytesIO(body), columns=["event_id"]).column("event_id").to_pylist())
    return ids


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "ndjson2parquet", *args], capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}: {result.stderr}"
    return result


def _committed(state: Path, bucket: str) -> set[str]:
    with open_store(str(state), read_only=True) as store:
        keys: set[str] = set()
        for status in store.dates():
            for manifest in store.manifests_of(status.dataset, status.date):
                if manifest.state == "SUCCEEDED":
                    keys.update(o.removeprefix(f"s3://{bucket}/") for o in manifest.outputs)
        return keys


@pytest.mark.slow
def test_s3_sigkill_at_random_points_then_recover_and_run_gives_every_record_once(
    moto: MotoServer, aws_env: dict, tmp_path: Path
) -> None:
    s3 = moto.client("s3")
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    landing = tmp_path / "in"
    state = tmp_path / "state.db"
    lake_args = ["--output", f"s3://{bucket}/lake", "--quarantine", f"s3://{bucket}/quarantine", "--state", str(state)]
    args = [sys.executable, "-m", "ndjson2parquet", "run", "--input", f"s3://{bucket}/landing", *lake_args]
    ttl = 2.0  # a killed run's manifests are requeued once its owner record expires: a short life here
    killed_env = {**aws_env, "NDJSON2PARQUET_OWNER_TTL_SECONDS": str(ttl)}
    rng = random.Random(20261201)
    kills = 0
    for i in range(30):  # until 12 runs were killed mid-way
        generate(landing / f"wave{i}", files=60, records=12_000, days=2, seed=300 + i, gzip_ratio=0.25)
        _upload(s3, bucket, landing / f"wave{i}", f"landing/wave{i}")
        child = subprocess.Popen(
            [*args, *CRASHY_BATCHES], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=killed_env
        )
        deadline = time.monotonic() + 60
        while not state.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            kills += 1
        child.wait()
        if rng.random() < 0.5 and state.exists():
            _run(aws_env, "recover", *lake_args)
        if kills == 12:
            break
    assert kills >= 10, f"only {kills} runs were still going when killed: make the data set larger"
    time.sleep(ttl + 0.5)  # the last killed run's owner record has expired
    _run(aws_env, "recover", *lake_args)
    _run(aws_env, "run", "--input", f"s3://{bucket}/landing", *lake_args, *CRASHY_BATCHES)
    assert _lake_ids(s3, bucket) == input_event_ids(landing)
    committed = _committed(state, bucket)
    parts = [k for k in _keys(s3, bucket, "lake/") if not k.startswith("lake/_") and not k.endswith("_SUCCESS")]
    assert sorted(k for k in parts if k not in committed) == []  # no stray object under the lake prefix
