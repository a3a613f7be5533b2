"""The operator commands against the AWS state: `status`, `ledger`, `verify`, `retry` and `recover` with
`--state dynamodb://TABLE` over an `s3://` lake written the way AWS writes it.

The lake is written by the step handlers (`aws/handlers/steps.py`: start → convert → commit, or
compensate) over a DynamoDB table and an S3 bucket on moto's server, as the state machine calls them;
each command then runs through click's runner (and once as a real `python -m ndjson2parquet` child),
reaching moto the standard way (``AWS_ENDPOINT_URL`` and dummy credentials: the `aws_env` fixture).
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from ndjson2parquet.aws.config import load_settings
from ndjson2parquet.aws.handlers.steps import StepHandlers
from ndjson2parquet.aws.observability import observability
from ndjson2parquet.aws.runtime import AwsClients, StepRuntime
from ndjson2parquet.backoff import Backoff
from ndjson2parquet.cli.main import cli
from ndjson2parquet.config.settings import StorePolicy
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, Engine
from ndjson2parquet.domain.errors import EngineError
from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.state import create_store, open_store
from tests.support.moto_server import MotoServer
from tests.support.sqs_poller import FakeLambdaContext

DATE = "2026-11-25"
DATASET = "events"


class Breakable(Engine):
    """The real engine; while ``error`` is set, every conversion raises it."""

    def __init__(self, real: Engine) -> None:
        self.real, self.error = real, None  # type: Engine, Exception | None

    def convert(self, job: ConversionJob) -> ConversionResult:
        if self.error is not None:
            raise self.error
        return self.real.convert(job)

    def remove_outputs(self, job: ConversionJob) -> None:
        self.real.remove_outputs(job)


def context() -> FakeLambdaContext:
    """A Lambda context as the service passes one (Powertools reads its keys into the logs)."""
    return FakeLambdaContext(
        function_name="n2p-step",
        memory_limit_in_mb=1024,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:n2p-step",
    )


class AwsLake:
    """A DynamoDB state table and an S3 bucket (landing prefix, lake), written by the step handlers."""

    def __init__(self, moto: MotoServer, max_attempts: int = 3) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.s3, self.ddb = moto.client("s3"), moto.client("dynamodb")
        self.bucket, self.table = f"lake-{suffix}", f"state-{suffix}"
        self.state, self.lake = f"dynamodb://{self.table}", f"s3://{self.bucket}/lake"
        self.s3.create_bucket(Bucket=self.bucket)
        create_store(self.state, client=self.ddb)
        policy = StorePolicy(max_attempts=max_attempts)
        self.store = open_store(self.state, policy=policy, client=self.ddb)
        settings = load_settings(environ={}, state=self.state, lake=self.lake, store=policy)
        runtime = StepRuntime(
            settings, AwsClients(dynamodb=self.ddb, s3=self.s3), backoff=Backoff(base=0.01, cap=0.01, attempts=1)
        )
        self.engine = Breakable(runtime.engine)
        runtime.__dict__["engine"] = self.engine
        self.handlers = StepHandlers(runtime=runtime, obs=observability(f"n2p-op-{suffix}", "n2p-test", "INFO"))

    def put(self, name: str, body: bytes, date: str = DATE) -> str:
        """An object in the landing prefix; its s3:// URI."""
        self.s3.put_object(Bucket=self.bucket, Key=f"landing/{date}/{name}", Body=body)
        return f"s3://{self.bucket}/landing/{date}/{name}"

    def register(self, uris: list[str], date: str = DATE) -> list[FileRecord]:
        """Register the objects as the intake does (what S3 holds now: its ETag and size)."""
        records, now = [], time.time()
        for uri in uris:
            key = uri.removeprefix(f"s3://{self.bucket}/")
            head = self.s3.head_object(Bucket=self.bucket, Key=key)
            obj = ObjectInfo(uri, key, head["ETag"].strip('"'), head["ContentLength"], now)
            records.append(FileRecord.new(DATASET, date, obj, now))
        self.store.register(records)
        return records

    def claim(self, date: str = DATE) -> str:
        """Every PENDING file of the date claimed into one CREATED manifest (as the intake closes one)."""
        pending = list(self.store.pending(DATASET, date, limit=1000).items)
        manifest = self.store.claim(pending, reason="max_files")
        assert manifest is not None
        return manifest.manifest_id

    def start(self, manifest_id: str) -> dict[str, Any]:
        """The start step of a new execution of the manifest: its document."""
        arn = f"arn:aws:states:us-east-1:123456789012:execution:n2p:{manifest_id}-{uuid.uuid4().hex[:6]}"
        event = {"manifest_id": manifest_id, "execution_arn": arn}
        return self.handlers.invoke("start", event, context())

    def step(self, name: str, doc: dict[str, Any]) -> dict[str, Any]:
        return self.handlers.invoke(name, doc, context())

    def execute(self, manifest_id: str) -> dict[str, Any]:
        """One execution as the state machine runs it: start → convert → commit, or → compensate."""
        doc = self.step("convert", self.start(manifest_id))
        return self.step("commit" if doc["next"] == "commit" else "compensate", doc)

    def parts(self) -> list[str]:
        """Every Parquet object under the lake prefix (as a reader listing it sees them)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="lake/")
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        return [k for k in keys if k.endswith(".parquet") and not k.startswith("lake/_")]

    def lake_ids(self) -> Counter[str]:
        """``id`` of every row of every part in the lake."""
        found: Counter[str] = Counter()
        for key in self.parts():
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            found.update(pq.read_table(io.BytesIO(body), columns=["id"]).column("id").to_pylist())
        return found


def lines(*ids: str) -> bytes:
    return "".join(json.dumps({"id": i, "n": n}) + "\n" for n, i in enumerate(ids)).encode()


@pytest.fixture
def aws(moto: MotoServer, aws_env: dict[str, str]) -> Iterator[AwsLake]:
    yield AwsLake(moto)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def committed(aws: AwsLake) -> tuple[str, list[str]]:
    """A date converted by the step handlers: two good files, one with a bad line, one corrupt gzip."""
    uris = [
        aws.put("a.ndjson", lines("a1", "a2", "a3")),
        aws.put("b.ndjson", lines("b1") + b"{not json\n" + lines("b2")),
        aws.put("c.ndjson.gz", gzip.compress(lines("c1"))[:-12]),  # truncated: REJECTED whole
    ]
    aws.register(uris)
    manifest_id = aws.claim()
    doc = aws.execute(manifest_id)
    assert doc["state"] == "SUCCEEDED", doc
    return manifest_id, uris


def test_status_ledger_and_verify_read_the_dynamodb_state_of_an_s3_lake_the_step_handlers_wrote(
    aws: AwsLake, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest_id, (_, with_bad_line, corrupt) = committed(aws)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    [commit] = [m for m in emf if m.get("step") == "commit"]
    # review Q19: from the earliest file's landing (registered before the manifest closed) to readable
    assert commit["ArrivalLatency"][0] >= commit["ManifestLatency"][0] >= 0

    status = invoke("status", "--state", aws.state, "--json")
    assert status.exit_code == 0, status.output
    snapshot = json.loads(status.stdout)
    assert (snapshot["files"]["DONE"], snapshot["files"]["REJECTED"]) == (2, 1)
    assert snapshot["manifests"]["SUCCEEDED"] == 1
    assert [(d["dataset"], d["date"]) for d in snapshot["dates"]] == [(DATASET, DATE)]
    assert [r["uri"] for r in snapshot["rejected"]] == [corrupt]
    text = invoke("status", "--state", aws.state)
    assert text.exit_code == 0 and corrupt in text.output, text.output

    ledger = invoke("ledger", with_bad_line, "--state", aws.state, "--json")
    assert ledger.exit_code == 0, ledger.output
    (version,) = json.loads(ledger.stdout)["versions"]
    assert version["state"] == "DONE" and version["manifest_id"] == manifest_id
    assert (version["lines"], version["rows_written"], version["rows_quarantined"], version["balanced"]) == (
        3,
        2,
        1,
        True,
    )
    assert all(p.startswith(f"{aws.lake}/{DATASET}/date={DATE}/part-{manifest_id}-") for p in version["outputs"])
    rejected = invoke("ledger", corrupt, "--state", aws.state)
    assert rejected.exit_code == 0 and "REJECTED" in rejected.output, rejected.output

    verified = invoke("verify", "--state", aws.state, "--json")
    assert verified.exit_code == 0, verified.output
    [report] = json.loads(verified.stdout)
    assert (report["ok"], report["files_checked"], report["rows_written"], report["rows_quarantined"]) == (
        True,
        3,
        5,
        1,
    )
    assert aws.lake_ids() == Counter({"a1": 1, "a2": 1, "a3": 1, "b1": 1, "b2": 1})


def test_verify_reports_a_part_deleted_from_the_s3_lake(aws: AwsLake) -> None:
    manifest_id, _ = committed(aws)
    [part] = aws.parts()
    aws.s3.delete_object(Bucket=aws.bucket, Key=part)

    verified = invoke("verify", "--state", aws.state)

    assert verified.exit_code == 1, verified.output
    assert f"manifest {manifest_id}: part missing: s3://{aws.bucket}/{part}" in verified.output


@pytest.mark.parametrize("copy_as", ["part-{manifest_id}-1.parquet", "part-{manifest_id}-0 (copy).parquet"])
def test_verify_reports_a_part_duplicated_in_the_s3_lake(aws: AwsLake, copy_as: str) -> None:
    manifest_id, _ = committed(aws)
    [part] = aws.parts()
    copy = f"{part.rsplit('/', 1)[0]}/{copy_as.format(manifest_id=manifest_id)}"
    aws.s3.copy_object(Bucket=aws.bucket, Key=copy, CopySource={"Bucket": aws.bucket, "Key": part})

    verified = invoke("verify", "--state", aws.state)

    assert verified.exit_code == 1, verified.output
    assert f"s3://{aws.bucket}/{copy}" in verified.output
    assert "not a part of any committed manifest" in verified.output


def test_verify_passes_over_the_parts_of_a_manifest_still_converting(aws: AwsLake) -> None:
    committed(aws)
    aws.register([aws.put("d.ndjson", lines("d1"))])
    converted = aws.step("convert", aws.start(aws.claim()))  # parts written, the commit not yet run
    assert converted["next"] == "commit"

    verified = invoke("verify", "--state", aws.state)

    assert verified.exit_code == 0, verified.output  # a reader may see them: they are not committed, nor wrong


def test_retry_puts_a_rejected_file_back_and_the_next_execution_lands_it_once(aws: AwsLake) -> None:
    body = lines("g1", "g2")
    kept, gone = aws.put("kept.ndjson", lines("k1")), aws.put("gone.ndjson", body)
    aws.register([kept, gone])
    aws.s3.delete_object(Bucket=aws.bucket, Key=f"landing/{DATE}/gone.ndjson")  # gone before it is read
    assert aws.execute(aws.claim())["state"] == "SUCCEEDED"
    assert [f.state for f in aws.store.files_by_uri(gone)] == [FileState.REJECTED]

    aws.put("gone.ndjson", body)  # back, the same version (the same ETag)
    retried = invoke("retry", "--rejected", "--state", aws.state)
    assert retried.exit_code == 0 and "1 file(s) back to PENDING" in retried.output, retried.output
    assert aws.execute(aws.claim())["state"] == "SUCCEEDED"

    assert [f.state for f in aws.store.files_by_uri(gone)] == [FileState.DONE]
    assert aws.lake_ids() == Counter({"k1": 1, "g1": 1, "g2": 1})
    assert invoke("verify", "--state", aws.state).exit_code == 0


def test_retry_puts_a_failed_file_back_by_name_and_the_next_execution_lands_it_once(
    moto: MotoServer, aws_env: dict[str, str]
) -> None:
    aws = AwsLake(moto, max_attempts=1)
    uri = aws.put("f.ndjson", lines("f1", "f2"))
    aws.register([uri])
    aws.engine.error = EngineError("the engine cannot do this", transient=False)
    assert aws.execute(aws.claim())["state"] == "COMPENSATED"
    assert [f.state for f in aws.store.files_by_uri(uri)] == [FileState.FAILED]
    status = json.loads(invoke("status", "--state", aws.state, "--json").output)
    assert [f["uri"] for f in status["failed"]] == [uri]

    aws.engine.error = None
    retried = invoke("retry", uri, "--state", aws.state)
    assert retried.exit_code == 0 and "1 file(s) back to PENDING" in retried.output, retried.output
    assert aws.execute(aws.claim())["state"] == "SUCCEEDED"

    assert aws.lake_ids() == Counter({"f1": 1, "f2": 1})
    again = invoke("retry", uri, "--state", aws.state)
    assert again.exit_code == 1 and "is DONE: only FAILED or REJECTED files can be retried" in again.output


@pytest.mark.parametrize("redrive", ["step handlers", "embedded run"])
def test_recover_requeues_a_manifest_whose_execution_died_mid_flight_and_it_lands_once(
    moto: MotoServer, aws_env: dict[str, str], redrive: str
) -> None:
    aws = AwsLake(moto)
    aws.register([aws.put("m.ndjson", lines("m1", "m2", "m3"))])
    manifest_id = aws.claim()
    converted = aws.step("convert", aws.start(manifest_id))  # its parts are written; the execution dies here
    assert converted["next"] == "commit" and aws.parts()
    fresh = invoke("recover", "--state", aws.state, "--output", aws.lake, "--json")
    assert json.loads(fresh.stdout)["requeued"] == []  # its owner record lives (1200 s): left alone
    aws.store.announce_owner(converted["owner"], 0.05)  # as if its last renewal were 1200 s ago
    time.sleep(0.2)  # the owner record expires (later is only more expired)

    recovered = invoke("recover", "--state", aws.state, "--output", aws.lake, "--json")

    assert recovered.exit_code == 0, recovered.output
    assert json.loads(recovered.stdout)["requeued"] == [manifest_id]
    assert aws.store.get_manifest(manifest_id).state == ManifestState.CREATED
    if redrive == "step handlers":  # as the scheduled recovery starts its execution
        assert aws.execute(manifest_id)["state"] == "SUCCEEDED"
    else:  # or an embedded run against the same table and lake (it registers nothing new)
        landing = f"s3://{aws.bucket}/landing"
        run = invoke("run", "--input", landing, "--output", aws.lake, "--dataset", DATASET, "--state", aws.state)
        assert run.exit_code == 0, run.output
    manifest = aws.store.get_manifest(manifest_id)  # re-driven under the same id
    assert (manifest.state, manifest.runs) == (ManifestState.SUCCEEDED, 2)
    assert aws.lake_ids() == Counter({"m1": 1, "m2": 1, "m3": 1})
    assert invoke("verify", "--state", aws.state).exit_code == 0


def test_recover_from_lake_rebuilds_a_lost_dynamodb_table_from_the_s3_lake(aws: AwsLake) -> None:
    manifest_id, uris = committed(aws)
    table = f"dynamodb://rebuilt-{uuid.uuid4().hex[:8]}"
    assert invoke("init-state", "--state", table).exit_code == 0

    rebuilt = invoke("recover", "--from-lake", "--output", aws.lake, "--state", table)

    assert rebuilt.exit_code == 0 and "rebuilt the state from 1 commit record(s)" in rebuilt.output, rebuilt.output
    with open_store(table, read_only=True) as store:
        assert store.get_manifest(manifest_id).state == ManifestState.SUCCEEDED
        assert {f.state for uri in uris for f in store.files_by_uri(uri)} == {FileState.DONE, FileState.REJECTED}
    assert invoke("verify", "--state", table).exit_code == 0
    landing = f"s3://{aws.bucket}/landing"
    ingested = invoke("ingest", "--input", landing, "--dataset", DATASET, "--state", table, "--json")
    assert ingested.exit_code == 0 and json.loads(ingested.stdout)["new"] == 0  # nothing would convert twice
    again = invoke("recover", "--from-lake", "--output", aws.lake, "--state", table)
    assert again.exit_code == 0 and "1 already known" in again.output, again.output


def test_the_operator_commands_run_as_a_child_process_against_the_aws_state(
    aws: AwsLake, aws_env: dict[str, str]
) -> None:
    _, (good, *_) = committed(aws)

    def child(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ndjson2parquet", *args, "--state", aws.state]
        return subprocess.run(command, capture_output=True, text=True, env=aws_env, timeout=120)

    status, ledger, verify = child("status", "--json"), child("ledger", good), child("verify")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["files"]["DONE"] == 2
    assert ledger.returncode == 0 and "DONE" in ledger.stdout, ledger.stderr
    assert verify.returncode == 0 and f"{DATASET}/{DATE}: OK" in verify.stdout, verify.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "ndjson2parquet", "status", "--state", "dynamodb://no-such-table"],
        capture_output=True,
        text=True,
        env=aws_env,
        timeout=120,
    )
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.splitlines() == [
        "error: no DynamoDB table 'no-such-table': create it with"
        " `ndjson2parquet init-state --state dynamodb://no-such-table`"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recover", "--output", "{lake}"], "with an s3:// --output, give --state"),
        (["recover", "--from-lake", "--output", "{lake}"], "with an s3:// --output, give --state"),
        (["recover", "--from-lake", "--output", "{lake}", "--state", "dynamodb://no-such-table"], "no DynamoDB table"),
        (["recover", "--from-lake", "--output", "s3://no-such-bucket-n2p/l", "--state", "{state}"], "no-such-bucket"),
        (["verify", "--state", "dynamodb://no-such-table"], "no DynamoDB table"),
        (["ledger", "s3://x/landing/a.ndjson", "--state", "{state}"], "no file s3://x/landing/a.ndjson"),
        (["retry", "s3://x/landing/a.ndjson", "--state", "{state}"], "no file s3://x/landing/a.ndjson"),
    ],
)
def test_a_mistake_against_the_aws_state_is_a_one_line_error(aws: AwsLake, args: list[str], message: str) -> None:
    filled = [a.format(lake=aws.lake, state=aws.state) for a in args]
    result = invoke(*filled)
    assert result.exit_code == 1, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: ") and message in line, line
