"""The manifest workflow as deployed: the ASL file run by moto's Step Functions interpreter, its Lambda
tasks routed to our step handlers in process (tests/support/moto_aws.py), against a DynamoDB state
table and an S3 lake on moto's server."""

from __future__ import annotations

import errno
import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow.parquet as pq
import pytest

from ndjson2parquet.aws.config import load_settings
from ndjson2parquet.aws.executions import start_manifest_execution
from ndjson2parquet.aws.glue import convert_job
from ndjson2parquet.aws.handlers.steps import StepHandlers
from ndjson2parquet.aws.observability import observability
from ndjson2parquet.aws.runtime import AwsClients, StepRuntime
from ndjson2parquet.aws.state_machine import render
from ndjson2parquet.backoff import Backoff
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, Engine
from ndjson2parquet.conversion.spark import SparkEngine
from ndjson2parquet.domain.errors import EngineError
from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.state import create_store, open_store
from ndjson2parquet.state.base import StateStore
from tests.support.moto_aws import executing_state_machines, glue_jobs_in_process, lambdas_in_process
from tests.support.moto_server import REGION, MotoServer
from tests.support.spark import TEST_CONF, shared_session

STEPS = ("start", "convert", "commit", "compensate", "put_back")
DATE = "2026-11-25"
ROWS_PER_FILE = 5


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer()
    with pytest.MonkeyPatch.context() as patch:
        # moto's interpreter calls Lambda and SNS through the server at localhost:$MOTO_PORT
        patch.setenv("MOTO_PORT", str(server.port))
        # a client the steps build themselves (the lake's schema file: schema_sync is not handed the
        # runtime's storage) reaches moto the standard way, never the developer's ~/.aws
        no_config = tmp_path_factory.mktemp("no-aws")
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_ENDPOINT_URL_S3", server.endpoint_url)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.setenv(name, "testing")
        patch.setenv("AWS_REGION", REGION)
        patch.setenv("AWS_CONFIG_FILE", str(no_config / "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(no_config / "credentials"))
        with executing_state_machines(server.endpoint_url):
            yield server
    server.stop()


class FlakyEngine(Engine):
    """The real engine, after ``failures`` conversions that raise ``error``."""

    def __init__(self, real: Engine, failures: int, error: Exception) -> None:
        self.real, self.failures, self.error = real, failures, error
        self.calls = 0

    def convert(self, job: ConversionJob) -> ConversionResult:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.real.convert(job)

    def remove_outputs(self, job: ConversionJob) -> None:
        self.real.remove_outputs(job)


@pytest.fixture(scope="module")
def clients(moto: MotoServer) -> dict[str, Any]:
    """One client per service for the module (building one loads its service model: slow)."""
    names = ("s3", "dynamodb", "stepfunctions", "iam", "lambda", "sns", "sqs", "glue")
    return {name: moto.client(name) for name in names}


@dataclass
class Deployment:
    """One state machine, its five functions, a state table, a lake bucket and a failure topic."""

    clients: dict[str, Any]
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __post_init__(self) -> None:
        c = self.clients
        self.s3, self.ddb, self.sfn = c["s3"], c["dynamodb"], c["stepfunctions"]
        self.bucket, self.table = f"lake-{self.suffix}", f"state-{self.suffix}"
        self.s3.create_bucket(Bucket=self.bucket)
        create_store(f"dynamodb://{self.table}", client=self.ddb)
        self.store: StateStore = open_store(f"dynamodb://{self.table}", client=self.ddb)
        self.settings = load_settings(
            environ={}, state=f"dynamodb://{self.table}", lake=f"s3://{self.bucket}/lake", owner_ttl_s=120.0
        )
        clients = AwsClients(dynamodb=self.ddb, s3=self.s3)
        runtime = StepRuntime(self.settings, clients, backoff=Backoff(base=0.01, cap=0.01, attempts=1))
        self.engine = FlakyEngine(runtime.engine, 0, EngineError("unused"))
        runtime.__dict__["engine"] = self.engine
        # a service name of its own: Powertools keeps one Logger (and its output stream) per name
        self.handlers = StepHandlers(runtime=runtime, obs=observability(f"n2p-{self.suffix}", "n2p-test", "INFO"))
        role = c["iam"].create_role(
            RoleName=f"n2p-{self.suffix}", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
        )["Role"]["Arn"]
        lam, self.routes, arns = c["lambda"], {}, {}
        for step in STEPS:
            name = f"n2p-{step.replace('_', '-')}-{self.suffix}"
            arns[f"{step}_function_arn"] = lam.create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=role,
                Handler=f"ndjson2parquet.aws.handlers.steps.{step}_handler",
                Code={"ZipFile": _zip()},
                Timeout=900,
            )["FunctionArn"]
            self.routes[name] = lambda event, context, step=step: self.handlers.invoke(step, event, context)
        sns, sqs = c["sns"], c["sqs"]
        topic = sns.create_topic(Name=f"failures-{self.suffix}")["TopicArn"]
        self.queue = sqs.create_queue(QueueName=f"failures-{self.suffix}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["QueueArn"])
        self.sqs = sqs
        self.glue_job = f"convert-{self.suffix}"
        c["glue"].create_job(
            Name=self.glue_job,
            Role=role,
            Command={"Name": "glueetl", "ScriptLocation": f"s3://{self.bucket}/scripts/convert_job.py"},
            DefaultArguments={"--state": self.settings.state, "--lake": self.settings.lake},
        )
        # the Glue script's entry point on the Spark engine (local[2], the tests' session), over the test's
        # clients; its engine may fail on purpose
        self.glue_clients = AwsClients(dynamodb=self.ddb, s3=self.s3)  # a client built beside these is named
        glue_runtime = StepRuntime(self.settings, self.glue_clients, backoff=Backoff(base=0.01, cap=0.01, attempts=1))
        spark = SparkEngine(storage=glue_runtime.storage, master="local[2]", conf=TEST_CONF)
        self.glue_engine = FlakyEngine(spark, 0, EngineError("unused"))
        glue_runtime.__dict__["engine"] = self.glue_engine
        self.glue_routes = {self.glue_job: lambda argv: convert_job.main(argv, runtime=glue_runtime)}
        self.definition = render({**arns, "glue_job_name": self.glue_job, "failure_topic_arn": topic})
        self.machine = self.sfn.create_state_machine(
            name=f"n2p-{self.suffix}", definition=self.definition, roleArn=role
        )["stateMachineArn"]

    def reset(self) -> None:
        """As deployed: an engine that works, the definition of the ASL file, no notification waiting."""
        self.engine.failures, self.engine.calls = 0, 0
        self.glue_engine.failures, self.glue_engine.calls = 0, 0
        self.sfn.update_state_machine(stateMachineArn=self.machine, definition=self.definition)
        self.notifications()  # read and dropped (PurgeQueue is allowed once a minute)

    def manifest(self, files: int = 3) -> str:
        """Put ``files`` NDJSON objects in the landing prefix, register them and claim them: a CREATED manifest."""
        records, now = [], time.time()
        for i in range(files):
            key = f"landing/{DATE}/{uuid.uuid4().hex[:8]}-f{i}.ndjson"
            body = "".join(
                json.dumps({"event_id": f"{i}-{n}", "ts": f"{DATE}T00:00:0{n}Z", "n": n}) + "\n"
                for n in range(ROWS_PER_FILE)
            ).encode()
            etag = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)["ETag"].strip('"')
            obj = ObjectInfo(f"s3://{self.bucket}/{key}", key, etag, len(body), now)
            records.append(FileRecord.new("events", DATE, obj, now))
        self.store.register(records)
        manifest = self.store.claim(records, reason="max_files")
        assert manifest is not None
        return manifest.manifest_id

    def run(self, manifest_id: str) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
        """Start the manifest's execution and wait for its end; (its description, the Lambda calls)."""
        with lambdas_in_process(self.routes) as calls, glue_jobs_in_process(self.glue_routes) as self.glue_runs:
            arn = start_manifest_execution(self.sfn, self.machine, manifest_id)
            deadline = time.monotonic() + 45
            while (described := self.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
                assert time.monotonic() < deadline, "the execution did not end"
                time.sleep(0.05)
        return described, calls

    def parts(self, manifest_id: str) -> list[str]:
        """The manifest's Parquet parts in the lake (their names carry its id)."""
        found = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="lake/").get("Contents", [])
        return [o["Key"] for o in found if o["Key"].rsplit("/", 1)[-1].startswith(f"part-{manifest_id}-")]

    def notifications(self) -> list[dict[str, Any]]:
        """The failure notifications waiting in the topic's queue (taken from it)."""
        messages = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]

    def steps_run(self, calls: list[tuple[str, Any]]) -> list[str]:
        by_name = {f"n2p-{s.replace('_', '-')}-{self.suffix}": s for s in STEPS}
        return [by_name[name] for name, _ in calls]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "# the code runs in process: tests/support/moto_aws.py\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def deployment(clients: dict[str, Any]) -> Deployment:
    return Deployment(clients)


@pytest.fixture
def aws(deployment: Deployment) -> Deployment:
    """The module's deployment, as deployed (each test uses manifests of its own)."""
    deployment.reset()
    return deployment


def test_execution_converts_and_commits_a_manifest_through_the_step_handlers(aws: Deployment) -> None:
    manifest_id = aws.manifest(files=3)

    described, calls = aws.run(manifest_id)

    assert described["status"] == "SUCCEEDED", described
    assert aws.steps_run(calls) == ["start", "convert", "commit"]
    manifest = aws.store.get_manifest(manifest_id)
    assert manifest.state == ManifestState.SUCCEEDED
    assert aws.store.owner_alive(f"sfn-execution:{described['executionArn']}")  # the execution owned it
    assert {f.state for f in aws.store.files_of(manifest)} == {FileState.DONE}
    parts = aws.parts(manifest_id)
    assert parts
    rows = 0
    for key in parts:
        body = aws.s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read()
        rows += pq.read_table(io.BytesIO(body)).num_rows
    assert rows == 3 * ROWS_PER_FILE
    output = json.loads(described["output"])
    assert (output["state"], output["next"]) == ("SUCCEEDED", "end")
    assert aws.notifications() == []


def test_a_second_start_of_a_manifest_is_the_same_execution(aws: Deployment) -> None:
    manifest_id = aws.manifest(files=1)
    described, _ = aws.run(manifest_id)

    again = start_manifest_execution(aws.sfn, aws.machine, manifest_id)

    assert again == described["executionArn"]
    executions = aws.sfn.list_executions(stateMachineArn=aws.machine)["executions"]
    assert [e["executionArn"] for e in executions if e["name"] == manifest_id] == [again]
    assert aws.store.get_manifest(manifest_id).state == ManifestState.SUCCEEDED


def test_a_convert_that_fails_transiently_is_retried_by_the_state_machine(aws: Deployment) -> None:
    aws.engine.failures, aws.engine.error = 1, EngineError("S3 busy", transient=True)
    manifest_id = aws.manifest(files=2)

    described, calls = aws.run(manifest_id)

    assert described["status"] == "SUCCEEDED", described
    assert aws.steps_run(calls) == ["start", "convert", "convert", "commit"]
    manifest = aws.store.get_manifest(manifest_id)
    assert (manifest.state, manifest.runs) == (ManifestState.SUCCEEDED, 1)
    assert {f.state for f in aws.store.files_of(manifest)} == {FileState.DONE}


def test_a_convert_that_fails_terminally_is_compensated_and_notified(aws: Deployment) -> None:
    aws.engine.failures, aws.engine.error = 99, EngineError("the engine cannot do this", transient=False)
    manifest_id = aws.manifest(files=2)

    described, calls = aws.run(manifest_id)

    assert described["status"] == "FAILED", described
    assert aws.steps_run(calls) == ["start", "convert", "compensate"]
    manifest = aws.store.get_manifest(manifest_id)
    assert manifest.state == ManifestState.COMPENSATED
    assert "the engine cannot do this" in (manifest.error or "")
    files = list(aws.store.files_of(manifest))
    assert {(f.state, f.attempts) for f in files} == {(FileState.PENDING, 1)}
    assert aws.parts(manifest_id) == []
    [notice] = aws.notifications()
    assert (notice["manifest_id"], notice["state"]) == (manifest_id, "COMPENSATED")


def test_a_convert_out_of_disk_space_puts_the_manifest_back_without_spending_an_attempt(aws: Deployment) -> None:
    aws.engine.failures, aws.engine.error = 1, OSError(errno.ENOSPC, "No space left on device")
    manifest_id = aws.manifest(files=1)

    described, calls = aws.run(manifest_id)

    assert described["status"] == "SUCCEEDED", described  # nothing failed: a later execution converts it
    assert aws.steps_run(calls) == ["start", "convert", "put_back"]
    manifest = aws.store.get_manifest(manifest_id)
    assert manifest.state == ManifestState.CREATED
    assert {(f.state, f.attempts) for f in aws.store.files_of(manifest)} == {(FileState.CLAIMED, 0)}
    assert aws.parts(manifest_id) == []
    assert json.loads(described["output"])["state"] == "REQUEUED"


def test_a_step_error_caught_by_the_state_machine_is_compensated(aws: Deployment) -> None:
    # transient every time: the Retry gives up, the Catch hands the convert's input to compensate
    aws.engine.failures, aws.engine.error = 99, EngineError("throttled for good", transient=True)
    manifest_id = aws.manifest(files=1)
    aws_retry_fast(aws)

    described, calls = aws.run(manifest_id)

    assert described["status"] == "FAILED", described
    steps = aws.steps_run(calls)
    assert steps[:2] == ["start", "convert"] and steps[-1] == "compensate"
    assert steps.count("convert") == 1 + 2  # the first attempt and the Retry's MaxAttempts (as patched)
    manifest = aws.store.get_manifest(manifest_id)
    assert manifest.state == ManifestState.COMPENSATED
    assert "StepTransientError" in (manifest.error or "")
    assert {f.state for f in aws.store.files_of(manifest)} == {FileState.PENDING}
    assert aws.parts(manifest_id) == []


def test_a_large_manifest_converts_in_glue_then_commits(aws: Deployment) -> None:
    glue_above(aws, 0)
    shared_session()  # the JVM starts (seconds) before the execution's clock does
    manifest_id = aws.manifest(files=2)

    described, calls = aws.run(manifest_id)

    assert described["status"] == "SUCCEEDED", described
    assert aws.steps_run(calls) == ["start", "commit"]  # the conversion ran in the Glue job
    assert aws.glue_engine.calls == 1 and aws.engine.calls == 0  # on the Spark engine
    assert set(aws.glue_clients._clients) == {"dynamodb", "s3"}  # no client the job does not use (GLUE-CQ-001)
    [(job, arguments)] = aws.glue_runs
    assert job == aws.glue_job
    assert json.loads(arguments["--step_document"])["manifest_id"] == manifest_id
    manifest = aws.store.get_manifest(manifest_id)
    assert manifest.state == ManifestState.SUCCEEDED
    assert {f.state for f in aws.store.files_of(manifest)} == {FileState.DONE}
    tables = [pq.read_table(io.BytesIO(aws.s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read()))
              for key in aws.parts(manifest_id)]  # fmt: skip
    assert sum(t.num_rows for t in tables) == 2 * ROWS_PER_FILE


def test_a_glue_run_that_fails_is_compensated(aws: Deployment) -> None:
    glue_above(aws, 0)
    shared_session()  # the JVM starts (seconds) before the execution's clock does
    aws.glue_engine.failures, aws.glue_engine.error = 99, EngineError("corrupt beyond repair", transient=False)
    manifest_id = aws.manifest(files=2)

    described, calls = aws.run(manifest_id)

    assert described["status"] == "FAILED", described
    assert aws.steps_run(calls) == ["start", "compensate"]
    manifest = aws.store.get_manifest(manifest_id)
    assert manifest.state == ManifestState.COMPENSATED
    assert "corrupt beyond repair" in (manifest.error or "")
    assert {f.state for f in aws.store.files_of(manifest)} == {FileState.PENDING}
    assert aws.parts(manifest_id) == []


def redefine(aws: Deployment, change: Callable[[dict[str, Any]], None]) -> None:
    definition = json.loads(aws.sfn.describe_state_machine(stateMachineArn=aws.machine)["definition"])
    change(definition["States"])
    aws.sfn.update_state_machine(stateMachineArn=aws.machine, definition=json.dumps(definition))


def aws_retry_fast(aws: Deployment) -> None:
    """The same state machine with the transient Retry at 2 attempts of 1 s (5 of up to 60 s deployed)."""

    def change(states: dict[str, Any]) -> None:
        for retrier in states["ConvertInLambda"]["Retry"]:
            if retrier["ErrorEquals"] == ["StepTransientError"]:
                retrier.update(IntervalSeconds=1, MaxAttempts=2, MaxDelaySeconds=1)

    redefine(aws, change)


def glue_above(aws: Deployment, threshold: int) -> None:
    """The same state machine with the Glue threshold at ``threshold`` bytes (2 GiB deployed)."""

    def change(states: dict[str, Any]) -> None:
        states["ChooseEngine"]["Choices"][0]["And"][1]["NumericGreaterThan"] = threshold

    redefine(aws, change)
