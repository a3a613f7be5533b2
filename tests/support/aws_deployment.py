"""The whole AWS deployment on a moto server, stood up the way Terraform would, its code run in process.

`AwsDeployment` creates what the Terraform module declares, with names of its own (a suffix):

* the landing bucket, notifying the intake queue of ObjectCreated/ObjectRemoved under ``landing/``;
  the queue (visibility timeout, RedrivePolicy with ``maxReceiveCount``) and its DLQ;
* the lake bucket (``s3://lake-…/lake``, quarantine under ``lake/_quarantine``), the DynamoDB state
  table (`init-state`'s definition), the SNS failure topic (read through an SQS subscription);
* one Lambda function per handler (intake, the five steps, recover, seal), created in moto with a
  dummy zip and its environment variables; each invocation is routed by function name to our real
  handler, built from those variables through the settings loaders, as the Lambda would build it;
* the state machine from the repository's ASL (`aws.state_machine.render`), its Lambda tasks routed
  in process, and the Glue job (default arguments ``--state``, ``--lake``) routed to
  `aws.glue.convert_job`.

Credentials (the seam for running each part under its own IAM role): every function, the Glue job
and the test's own clients get their SDK clients from ``session_for(name)`` (a boto3 Session;
default: the test credentials, one session shared). A later deployment with moto's IAM enforcement
passes a ``session_for`` that answers each function with the credentials of its role; nothing else
here changes. Each function has its own clients (`clients_of`), so fault hooks registered on them
(`tests.support.aws_faults`) touch that function only.

Lambda semantics kept in process: one invocation at a time in this process (`_SANDBOX`): on AWS
each concurrent invocation has a container of its own, here they would share Powertools' Metrics,
whose metric set is a class attribute shared by every instance. A `Crash` (BaseException: the
process dying, never caught by the code under test) ends the invocation as the Lambda runtime
reports a process exit (``RuntimeExitError``): Step Functions retries it (States.TaskFailed), the
SQS poller redelivers its batch.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from ndjson2parquet.aws.config import load_scheduled_settings, load_settings
from ndjson2parquet.aws.glue import convert_job
from ndjson2parquet.aws.handlers import intake as intake_handler
from ndjson2parquet.aws.handlers import recover as recover_handler
from ndjson2parquet.aws.handlers import seal as seal_handler
from ndjson2parquet.aws.handlers.steps import StepHandlers
from ndjson2parquet.aws.observability import observability
from ndjson2parquet.aws.runtime import AwsClients, ScheduledRuntime
from ndjson2parquet.aws.state_machine import render
from ndjson2parquet.config import env
from ndjson2parquet.state import create_store, open_store
from ndjson2parquet.state.base import StateStore
from tests.support.moto_aws import (
    executing_state_machines,
    glue_jobs_in_process,
    lambdas_in_process,
    sqs_receive_without_rescans,
)
from tests.support.moto_server import REGION, MotoServer
from tests.support.sqs_poller import FakeLambdaContext, SqsPoller

STEPS = ("start", "convert", "commit", "compensate", "put_back")
SCHEDULED = ("recover", "seal")
FUNCTIONS = ("intake", *STEPS, *SCHEDULED)
GLUE_JOB = "glue-convert"
_TEST_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}
#: one Lambda invocation at a time in this process (see the module docstring)
_SANDBOX = threading.RLock()
_current = threading.local()


class Crash(BaseException):
    """The Lambda's process dying mid-invocation (raised by fault hooks; nothing under test catches it)."""


class RuntimeExitError(Exception):
    """What the Lambda runtime reports of an invocation whose process exited (``Runtime.ExitError``)."""


@dataclass(frozen=True)
class Invocation:
    """The invocation running in this thread: the function and what it is about (the manifest id of a
    step, the message ids of an intake batch), for fault hooks that act once per subject."""

    function: str
    subjects: tuple[str, ...]
    serial: int


def current_invocation() -> Invocation | None:
    """The invocation this thread runs (None outside a handler)."""
    return getattr(_current, "invocation", None)


def default_session(_: str = "") -> boto3.session.Session:
    """The test credentials' session (what every function uses unless ``session_for`` says otherwise)."""
    return _SHARED_SESSION


_SHARED_SESSION = boto3.session.Session(region_name=REGION, **_TEST_CREDENTIALS)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "# the code runs in process: tests/support/aws_deployment.py\n")
    return buffer.getvalue()


class AwsDeployment:
    """One deployment on a moto server (see the module docstring). Use as a context manager: entering
    creates the resources; inside, Step Functions executions run, Lambda invocations and Glue runs are
    routed to our code."""

    def __init__(
        self,
        moto: MotoServer,
        *,
        dataset: str = "events",
        max_files: int = 50,
        grace_s: float = 6 * 3600.0,
        max_wait_s: float = 300.0,
        start_deadline_s: float = 900.0,
        max_receive_count: int = 3,
        visibility_timeout_s: int = 2,
        glue_above_bytes: int | None = None,
        session_for: Callable[[str], boto3.session.Session] = default_session,
    ) -> None:
        self.moto, self.session_for = moto, session_for
        self.suffix = uuid.uuid4().hex[:8]
        self.dataset = dataset
        self.landing_bucket, self.lake_bucket = f"landing-{self.suffix}", f"lake-{self.suffix}"
        self.landing, self.lake = f"s3://{self.landing_bucket}/landing", f"s3://{self.lake_bucket}/lake"
        self.table = f"state-{self.suffix}"
        self.state = f"dynamodb://{self.table}"
        self._clients: dict[tuple[str, str], Any] = {}
        self._serial = 0
        self._serial_lock = threading.Lock()
        self.batch = {"max_files": max_files, "grace_s": grace_s, "max_wait_s": max_wait_s}
        self.start_deadline_s = start_deadline_s
        self.max_receive_count, self.visibility_timeout_s = max_receive_count, visibility_timeout_s
        #: called with (function, event) at the start of every routed invocation, inside it
        self.on_invoke: list[Callable[[str, Any], None]] = []
        self._glue_above_bytes = glue_above_bytes
        self._stack: ExitStack | None = None
        self.lambda_calls: list[tuple[str, Any]] = []
        self.glue_runs: list[tuple[str, dict[str, str]]] = []

    # --- clients ---------------------------------------------------------------------------------

    def client(self, name: str, service: str) -> Any:
        """The ``service`` client of ``name`` (a function, the Glue job, or "test"), built once from
        ``session_for(name)``: botocore's retries off (our code retries), bound to the moto server."""
        key = (name, service)
        if key not in self._clients:
            config = Config(
                region_name=REGION,
                retries={"total_max_attempts": 1, "mode": "standard"},
                max_pool_connections=32,
                connect_timeout=5,
                read_timeout=60,
            )
            session = self.session_for(name)
            self._clients[key] = session.client(service, endpoint_url=self.moto.endpoint_url, config=config)
        return self._clients[key]

    def clients_of(self, name: str) -> AwsClients:
        """A function's (or the Glue job's) clients, as its runtime gets them."""
        return AwsClients(**{s: self.client(name, s) for s in ("dynamodb", "s3", "stepfunctions", "glue")})

    # --- what Terraform creates ------------------------------------------------------------------

    def _create_resources(self) -> None:
        s3, sqs, sns = self.client("test", "s3"), self.client("test", "sqs"), self.client("test", "sns")
        self.s3, self.sqs, self.sfn = s3, sqs, self.client("test", "stepfunctions")
        s3.create_bucket(Bucket=self.landing_bucket)
        s3.create_bucket(Bucket=self.lake_bucket)
        self.dlq_url = sqs.create_queue(QueueName=f"intake-dlq-{self.suffix}")["QueueUrl"]
        redrive = json.dumps(
            {"deadLetterTargetArn": self._queue_arn(self.dlq_url), "maxReceiveCount": str(self.max_receive_count)}
        )
        self.queue_url = sqs.create_queue(
            QueueName=f"intake-{self.suffix}",
            Attributes={"VisibilityTimeout": str(self.visibility_timeout_s), "RedrivePolicy": redrive},
        )["QueueUrl"]
        self.notify_events(True)
        create_store(self.state, client=self.client("test", "dynamodb"))
        self.topic_arn = sns.create_topic(Name=f"failures-{self.suffix}")["TopicArn"]
        self.failures_url = sqs.create_queue(QueueName=f"failures-{self.suffix}")["QueueUrl"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=self._queue_arn(self.failures_url))
        iam = self.client("test", "iam")
        trust = json.dumps({"Version": "2012-10-17", "Statement": []})
        self.role_arn = iam.create_role(RoleName=f"n2p-{self.suffix}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]

    def _queue_arn(self, url: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def notify_events(self, on: bool) -> None:
        """The landing bucket's notification configuration (off: S3 sends no event, as when one is lost)."""
        config: dict[str, Any] = {}
        if on:
            config = {
                "QueueConfigurations": [
                    {
                        "QueueArn": self._queue_arn(self.queue_url),
                        "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "landing/"}]}},
                    }
                ]
            }
        self.s3.put_bucket_notification_configuration(Bucket=self.landing_bucket, NotificationConfiguration=config)

    def function_name(self, function: str) -> str:
        """The deployed name of one of `FUNCTIONS`."""
        return f"n2p-{function.replace('_', '-')}-{self.suffix}"

    def environment(self, function: str) -> dict[str, str]:
        """The environment variables Terraform gives ``function`` (names in `config.env`)."""
        common = {
            env.STATE: self.state,
            env.LOG_LEVEL: "WARNING",
            env.SERVICE_NAME: self.function_name(function),  # Powertools keeps one Logger per name
            env.METRICS_NAMESPACE: "ndjson2parquet-test",
        }
        batch = {
            env.DATASET: self.dataset,
            env.MAX_FILES: str(self.batch["max_files"]),
            env.GRACE_SECONDS: str(self.batch["grace_s"]),
            env.MAX_WAIT_SECONDS: str(self.batch["max_wait_s"]),
        }
        if function == "intake":
            return {**common, **batch, env.LANDING: self.landing, env.STATE_MACHINE_ARN: self.machine_arn}
        steps = {**common, env.LAKE: self.lake}
        if function in STEPS:
            return steps
        return {
            **steps,
            **batch,
            env.LANDING: self.landing,
            env.STATE_MACHINE_ARN: self.machine_arn,
            env.START_DEADLINE_SECONDS: str(self.start_deadline_s),
        }

    def _create_functions(self, glue_above_bytes: int | None) -> None:
        lam = self.client("test", "lambda")
        # the state machine's ARN is known before it exists (the intake's and the scheduled passes' setting)
        account = self.role_arn.split(":")[4]
        self.machine_arn = f"arn:aws:states:{REGION}:{account}:stateMachine:n2p-{self.suffix}"
        arns: dict[str, str] = {}
        for function in FUNCTIONS:
            handler = {"intake": "intake.handler", "recover": "recover.handler", "seal": "seal.handler"}.get(
                function, f"steps.{function}_handler"
            )
            arns[function] = lam.create_function(
                FunctionName=self.function_name(function),
                Runtime="python3.11",
                Role=self.role_arn,
                Handler=f"ndjson2parquet.aws.handlers.{handler}",
                Code={"ZipFile": _zip()},
                Timeout=900,
                Environment={"Variables": self.environment(function)},
            )["FunctionArn"]
        self.glue_job = f"convert-{self.suffix}"
        self.client("test", "glue").create_job(
            Name=self.glue_job,
            Role=self.role_arn,
            Command={"Name": "glueetl", "ScriptLocation": f"s3://{self.lake_bucket}/scripts/convert_job.py"},
            DefaultArguments={"--state": self.state, "--lake": self.lake},
        )
        values = {f"{s}_function_arn": arns[s] for s in STEPS}
        definition = json.loads(render({**values, "glue_job_name": self.glue_job, "failure_topic_arn": self.topic_arn}))
        if glue_above_bytes is not None:  # deployed: 2 GiB; lower to send small manifests through Glue
            definition["States"]["ChooseEngine"]["Choices"][0]["And"][1]["NumericGreaterThan"] = glue_above_bytes
        self.definition = json.dumps(definition)
        made = self.sfn.create_state_machine(
            name=f"n2p-{self.suffix}", definition=self.definition, roleArn=self.role_arn
        )
        assert made["stateMachineArn"] == self.machine_arn, made
        self._build_handlers()

    def _build_handlers(self) -> None:
        """Each function's handler over its own settings (from its environment) and its own clients."""
        per_step = {
            s: StepHandlers(settings=load_settings(environ=self.environment(s)), clients=self.clients_of(s))
            for s in STEPS
        }
        intake_settings = intake_handler.settings_from_env(self.environment("intake"))
        clients = self.clients_of("intake")
        self.intake = intake_handler.build_intake(
            intake_settings,
            dynamodb=clients.get("dynamodb"),
            stepfunctions=clients.get("stepfunctions"),
            s3=clients.get("s3"),
        )
        self.scheduled: dict[str, ScheduledRuntime] = {}
        for function in SCHEDULED:
            settings = load_scheduled_settings(environ=self.environment(function))
            self.scheduled[function] = ScheduledRuntime(settings, self.clients_of(function))
        self._obs = {f: observability(self.function_name(f), "ndjson2parquet-test", "WARNING") for f in SCHEDULED}
        self.routes = {
            self.function_name(s): self._routed(s, lambda e, c, s=s: per_step[s].invoke(s, e, c)) for s in STEPS
        }
        self.glue_routes = {self.glue_job: self._glue_entry_point}

    def _glue_entry_point(self, argv: list[str]) -> Any:
        with self._invocation(GLUE_JOB, _subjects(GLUE_JOB, {"argv": argv})):
            return convert_job.run(convert_job.job_arguments(argv), clients=self.clients_of(GLUE_JOB))

    # --- invocations -----------------------------------------------------------------------------

    @contextmanager
    def _invocation(self, function: str, subjects: tuple[str, ...]) -> Iterator[None]:
        with self._serial_lock:
            self._serial += 1
            serial = self._serial
        outer = current_invocation()
        _current.invocation = Invocation(function, subjects, serial)
        try:
            yield
        except Crash as crash:
            raise RuntimeExitError(f"{function}: Runtime exited: {crash}") from None
        finally:
            _current.invocation = outer

    def _routed(self, function: str, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def invoke(event: Any, context: Any) -> Any:
            with _SANDBOX, self._invocation(function, _subjects(function, event)):
                for hook in list(self.on_invoke):  # faults that act on the event (aws_faults)
                    hook(function, event)
                return handler(event, context)

        return invoke

    def invoke_intake(self, event: dict[str, Any], context: Any) -> Any:
        """The intake function, as its SQS event source mapping invokes it."""
        intake_handler.use(self.intake)
        return self._routed("intake", intake_handler.handler)(event, context)

    def invoke_scheduled(self, function: str, event: dict[str, Any] | None = None) -> dict[str, int]:
        """The recover or seal function, as its schedule invokes it."""
        module = {"recover": recover_handler, "seal": seal_handler}[function]
        module.use(self.scheduled[function], self._obs[function])
        context = FakeLambdaContext(function_name=self.function_name(function))
        return self._routed(function, module.handler)(event or {}, context)

    def poller(self, batch_size: int = 10) -> SqsPoller:
        """The intake queue's event source mapping (ReportBatchItemFailures)."""
        # the event source mapping polls with the intake function's role (AWS: its execution role)
        return SqsPoller(self.client("intake", "sqs"), self.queue_url, self.invoke_intake, batch_size=batch_size)

    # --- the block in which the deployment runs ----------------------------------------------------

    def __enter__(self) -> AwsDeployment:
        self._stack = ExitStack()
        self._stack.enter_context(_moto_port(self.moto.port))
        self._stack.enter_context(sqs_receive_without_rescans())
        # before the state machine is created: moto keeps executable state machines in another backend
        self._stack.enter_context(executing_state_machines(self.moto.endpoint_url))
        self._create_resources()
        self._create_functions(self._glue_above_bytes)
        self.store: StateStore = open_store(self.state, client=self.client("test", "dynamodb"))
        self.lambda_calls = self._stack.enter_context(lambdas_in_process(self.routes))
        self.glue_runs = self._stack.enter_context(glue_jobs_in_process(self.glue_routes))
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stack is not None
        try:
            self.wait_for_executions(timeout_s=60, fail=False)
        finally:
            self._stack.close()
            intake_handler.use(None)
            recover_handler.use(None)
            seal_handler.use(None)

    # --- what the tests look at ------------------------------------------------------------------

    def executions(self) -> list[dict[str, Any]]:
        """Every execution of the state machine (name, status, ARN), all pages."""
        found: list[dict[str, Any]] = []
        for page in self.sfn.get_paginator("list_executions").paginate(stateMachineArn=self.machine_arn):
            found.extend(page["executions"])
        return found

    def wait_for_executions(self, timeout_s: float = 120.0, *, fail: bool = True) -> None:
        """Until no execution of the state machine runs."""
        deadline = time.monotonic() + timeout_s
        while any(e["status"] == "RUNNING" for e in self.executions()):
            if time.monotonic() > deadline:
                if fail:
                    raise AssertionError(f"executions still running after {timeout_s} s")
                return
            time.sleep(0.2)

    def messages(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message waiting in a queue (received, then made visible again)."""
        seen: dict[str, dict[str, Any]] = {}
        while True:
            got = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=5)
            batch = [m for m in got.get("Messages", []) if m["MessageId"] not in seen]
            if not batch:
                break
            seen.update((m["MessageId"], m) for m in batch)
        for m in seen.values():
            self.sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )
        return list(seen.values())

    def failure_notifications(self) -> list[dict[str, Any]]:
        """The documents the state machine published to the failure topic (taken from its queue)."""
        found = []
        for m in self.messages(self.failures_url):
            found.append(json.loads(json.loads(m["Body"])["Message"]))
            self.sqs.delete_message(QueueUrl=self.failures_url, ReceiptHandle=m["ReceiptHandle"])
        return found


@contextmanager
def _moto_port(port: int) -> Iterator[None]:
    """moto's Step Functions interpreter calls Lambda, SNS and Glue through ``localhost:$MOTO_PORT``."""
    saved = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(port)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = saved


def _subjects(function: str, event: Any) -> tuple[str, ...]:
    """What one invocation is about: an intake batch's message ids, a step's manifest id."""
    if not isinstance(event, dict):
        return ()
    if function == "intake":
        return tuple(str(r.get("messageId")) for r in event.get("Records", []))
    if function == GLUE_JOB:
        argv = event.get("argv", [])
        for i, item in enumerate(argv[:-1]):
            if item == "--step_document":
                return (str(json.loads(argv[i + 1]).get("manifest_id")),)
        return ()
    manifest = event.get("manifest_id")
    return (str(manifest),) if manifest else ()
