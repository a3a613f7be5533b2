"""`run` with the landing zone, the lake and the quarantine on S3 (a moto server), through the CLI.

Endpoint and credentials reach the code the standard way (AWS_* environment variables, set per test
with monkeypatch), never from the developer's ~/.aws.
"""

from __future__ import annotations

import gzip
import io
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from ndjson2parquet.cli.main import cli
from ndjson2parquet.domain.records import GONE
from ndjson2parquet.sample.generator import generate
from tests.support.lake import input_event_ids
from tests.support.moto_server import REGION, MotoServer

BATCHES = ["--max-files", "6", "--workers", "2", "--grace-hours", "0"]


@pytest.fixture
def s3(moto: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The moto endpoint and dummy credentials in the standard variables; no shared config read."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return moto.client("s3")


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def test_run_from_s3_to_s3_lands_every_record_once(s3: Any, tmp_path: Path) -> None:
    local = tmp_path / "gen"
    generate(local, files=24, records=1200, days=2, seed=3, gzip_ratio=0.25)
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    for path in local.rglob("*"):
        if path.is_file():
            s3.put_object(Bucket=bucket, Key=f"landing/{path.relative_to(local).as_posix()}", Body=path.read_bytes())
    bad_key = "landing/2026-11-25/bad.ndjson"
    s3.put_object(Bucket=bucket, Key=bad_key, Body=b'{"event_id": "bad-ok", "ts": "2026-11-25T00:00:00Z"}\n{oops\n')
    state = tmp_path / "state.db"

    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--input", f"s3://{bucket}/landing",
            "--output", f"s3://{bucket}/lake",
            "--quarantine", f"s3://{bucket}/quarantine",
            "--state", str(state),
            "--json",
            *BATCHES,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["report"].startswith(f"s3://{bucket}/lake/_reports/run-")

    lake = keys(s3, bucket, "lake/")
    parts = [k for k in lake if k.rsplit("/", 1)[-1].startswith("part-") and k.endswith(".parquet")]
    found: Counter[str] = Counter()
    for key in parts:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        found.update(pq.read_table(io.BytesIO(body), columns=["event_id"]).column("event_id").to_pylist())
    expected = input_event_ids(local)
    expected["bad-ok"] += 1
    assert found == expected  # every record exactly once
    assert not [k for k in lake if k.rsplit("/", 1)[-1].startswith(".")]  # no temp objects
    assert {k.split("/")[1] for k in lake} >= {"_manifests", "_reports", "_schemas"}
    records = [k for k in lake if k.startswith("lake/_manifests/") and k.endswith(".json")]
    assert len(records) == report["manifests"]["SUCCEEDED"]
    markers = [k for k in lake if k.endswith("/_SUCCESS")]
    dates = {k.split("/")[2] for k in parts}
    assert {m.split("/")[2] for m in markers} <= dates and markers  # the clean dates are sealed with a marker
    [quarantined] = keys(s3, bucket, "quarantine/")
    lines = s3.get_object(Bucket=bucket, Key=quarantined)["Body"].read().splitlines()
    assert [json.loads(line)["source"] for line in lines] == [f"s3://{bucket}/{bad_key}"]

    verified = CliRunner().invoke(cli, ["verify", "--state", str(state)])
    assert verified.exit_code == 0, verified.output
    assert "OK" in verified.stdout and "PROBLEMS" not in verified.stdout  # parts and quarantine re-read from S3
    schema = CliRunner().invoke(cli, ["schema", "--lake", f"s3://{bucket}/lake"])
    assert schema.exit_code == 0, schema.output
    assert "event_id" in {f["name"] for f in json.loads(schema.stdout)["fields"]}  # _schemas/default.json on S3
    ledger = CliRunner().invoke(cli, ["ledger", "--state", str(state), f"s3://{bucket}/{bad_key}"])
    assert ledger.exit_code == 0 and "quarantined" in ledger.stdout, ledger.output

    again = CliRunner().invoke(
        cli,
        [
            "run",
            "--input",
            f"s3://{bucket}/landing",
            "--output",
            f"s3://{bucket}/lake",
            "--state",
            str(state),
            "--json",
        ],
    )
    assert again.exit_code == 0, again.output
    assert sorted(parts) == sorted(
        k for k in keys(s3, bucket, "lake/") if k.rsplit("/", 1)[-1].startswith("part-")
    )  # a second run converts nothing


def test_a_local_input_into_an_s3_lake(s3: Any, tmp_path: Path) -> None:
    generate(tmp_path / "in", files=4, records=100, days=1, seed=1)
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    args = [
        "run",
        "--input",
        str(tmp_path / "in"),
        "--output",
        f"s3://{bucket}/lake",
        "--state",
        str(tmp_path / "s.db"),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = sum(
        pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).num_rows
        for k in keys(s3, bucket, "lake/")
        if k.endswith(".parquet")
    )
    assert rows == 100
    assert not (tmp_path / "s3:").exists()  # no local folder named after the URL


def test_a_lost_state_is_refused_then_rebuilt_from_the_s3_lake(s3: Any, tmp_path: Path) -> None:
    generate(tmp_path / "in", files=6, records=120, days=1, seed=2)
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    lake = f"s3://{bucket}/lake"
    common = ["--input", str(tmp_path / "in"), "--output", lake, "--grace-hours", "0"]
    first = CliRunner().invoke(cli, ["run", *common, "--state", str(tmp_path / "a.db")])
    assert first.exit_code == 0, first.output
    parts = sorted(k for k in keys(s3, bucket, "lake/") if k.endswith(".parquet"))

    refused = CliRunner().invoke(cli, ["run", *common, "--state", str(tmp_path / "b.db")])
    assert refused.exit_code == 1 and "does not know" in refused.output  # the records on S3 were listed

    rebuilt = CliRunner().invoke(cli, ["recover", "--from-lake", "--output", lake, "--state", str(tmp_path / "b.db")])
    assert rebuilt.exit_code == 0 and "rebuilt the state" in rebuilt.output, rebuilt.output
    again = CliRunner().invoke(cli, ["run", *common, "--state", str(tmp_path / "b.db")])
    assert again.exit_code == 0, again.output
    assert sorted(k for k in keys(s3, bucket, "lake/") if k.endswith(".parquet")) == parts  # nothing twice


def test_an_s3_input_deleted_before_conversion_is_set_aside_and_retried_once_back(s3: Any, tmp_path: Path) -> None:
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    body = b'{"event_id": "a"}\n{"event_id": "b"}\n'
    for name in ("keep", "gone"):
        s3.put_object(Bucket=bucket, Key=f"in/2026-11-25/{name}.ndjson", Body=body)
    state = str(tmp_path / "s.db")
    landing = f"s3://{bucket}/in"
    assert CliRunner().invoke(cli, ["ingest", "--input", landing, "--state", state]).exit_code == 0
    s3.delete_object(Bucket=bucket, Key="in/2026-11-25/gone.ndjson")
    run = ["run", "--input", landing, "--output", f"s3://{bucket}/lake", "--state", state, "--json"]
    first = CliRunner().invoke(cli, run)
    assert first.exit_code == 3, first.output  # a file REJECTED
    ledger = CliRunner().invoke(cli, ["ledger", "--state", state, f"{landing}/2026-11-25/gone.ndjson"])
    assert GONE in ledger.stdout, ledger.output

    s3.put_object(Bucket=bucket, Key="in/2026-11-25/gone.ndjson", Body=body)  # it comes back
    assert CliRunner().invoke(cli, ["retry", "--rejected", "--state", state]).exit_code == 0
    second = CliRunner().invoke(cli, run)
    assert second.exit_code == 0, second.output
    rows = sum(
        pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).num_rows
        for k in keys(s3, bucket, "lake/")
        if k.endswith(".parquet")
    )
    assert rows == 4  # both files, each once


def test_s3_inputs_rejected_for_their_content_are_copied_into_the_quarantine_and_verified(
    s3: Any, tmp_path: Path
) -> None:
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    corrupt = gzip.compress(b'{"event_id": "a"}\n' * 20)[:-10]
    wide = '{"event_id": "b"}\n'.encode("utf-16")
    s3.put_object(Bucket=bucket, Key="in/2026-11-25/ok.ndjson", Body=b'{"event_id": "c"}\n')
    s3.put_object(Bucket=bucket, Key="in/2026-11-25/bad.ndjson.gz", Body=corrupt)
    s3.put_object(Bucket=bucket, Key="in/2026-11-25/wide.ndjson", Body=wide)
    state = str(tmp_path / "s.db")
    run = ["run", "--input", f"s3://{bucket}/in", "--output", f"s3://{bucket}/lake", "--state", state, "--json"]
    first = CliRunner().invoke(cli, run)
    assert first.exit_code == 3, first.output  # two files REJECTED

    aside = sorted(k for k in keys(s3, bucket, "lake/") if "/_rejected/" in k)
    assert [k.rsplit("/", 1)[-1] for k in aside] == [
        "bad.ndjson.gz",
        "bad.ndjson.gz.rejected.json",
        "wide.ndjson",
        "wide.ndjson.rejected.json",
    ]
    body = {k.rsplit("/", 1)[-1]: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in aside}
    assert body["bad.ndjson.gz"] == corrupt and body["wide.ndjson"] == wide  # byte for byte
    sidecar = json.loads(body["bad.ndjson.gz.rejected.json"])
    assert sidecar["source"] == f"s3://{bucket}/in/2026-11-25/bad.ndjson.gz" and "gzip" in sidecar["reason"]
    assert CliRunner().invoke(cli, ["verify", "--state", state]).exit_code == 0

    s3.delete_object(Bucket=bucket, Key=next(k for k in aside if k.endswith("/wide.ndjson")))
    checked = CliRunner().invoke(cli, ["verify", "--state", state])
    assert checked.exit_code == 1 and "set-aside copy" in checked.output and "wide.ndjson is missing" in checked.output
