"""Every patch of moto the AWS deployment's tests need, in one place, written for moto 5.2.5.

moto's server runs Step Functions executions with its own ASL interpreter once
``{"stepfunctions": {"execute_state_machine": true}}`` is set through its config API, and that
interpreter calls Lambda through the server at ``localhost:$MOTO_PORT``. What moto cannot do here:

* run a Lambda: its ``LambdaFunction._invoke_lambda`` starts a Docker container, and there is no
  Docker engine. `lambdas_in_process` replaces that one method, for the duration of a ``with``
  block, by a call to the Python handler the test routes the function's name to, in this process,
  with a Lambda-like context. What the handler returns becomes the invocation's payload; what it
  raises becomes a function error whose payload names the exception's class (``errorType``), as
  the Lambda Python runtime reports it, so the state machine's Retry and Catch see the same error
  names as on AWS. A function not routed fails the invocation loudly.

* run a Glue job: its job runs only move STARTING → RUNNING → SUCCEEDED as they are described,
  and never run anything. `glue_jobs_in_process` replaces ``FakeJob.start_job_run`` so that a new
  run of a routed job calls its Python entry point with the run's arguments as a command line
  (``--name value`` pairs: the job's defaults updated by the run's, as Glue merges them) in the
  request, then sets the run's states: it ends SUCCEEDED when the entry point returned, FAILED
  (with its ``ErrorMessage``, which moto's job runs do not carry: ``FakeJobRun.as_dict`` is
  wrapped to add it) when it raised. The interpreter's ``glue:startJobRun.sync`` polls GetJobRun
  (every 0.5 s) and so sees the outcome.
* finish a ``.sync`` Glue task: moto 5.2.5's ``StateTaskServiceCallback._eval_integration_pattern``
  ends with ``callback_endpoint.interrupt_all()``, and the endpoint is None for a service that has
  no ``.waitForTaskToken`` (Glue), so every ``glue:startJobRun.sync`` task fails with States.Runtime
  ("'NoneType' object has no attribute 'interrupt_all'"). `glue_jobs_in_process` gives the Glue task
  class its own ``_eval_integration_pattern`` for ``.sync``: the same steps without that endpoint.

* enforce least-privilege policies (`iam_enforced`, for the least-privilege run only): moto checks one
  action ``<service>:<operation>`` on the resource ``*`` for most services, which no ARN-scoped
  statement matches; there each request is checked as the IAM actions and resources it needs.
* let its Step Functions interpreter act as the state machine's role (`interpreter_acting_as`): it
  signs its Lambda, Glue and SNS calls with keys no IAM identity holds.

Nothing else of moto is changed (the DynamoDB patches of `moto_server` are separate and older).

Each function checks the moto version first and fails on any other: a patch written against one
version's internals must be looked at again before it is trusted on another.
"""

from __future__ import annotations

import json
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.request import Request, urlopen

MOTO_VERSION = "5.2.5"

LambdaHandler = Callable[[Any, Any], Any]
GlueEntryPoint = Callable[[list[str]], Any]  # called with the run's command line, as Glue calls a script


def require_moto_version() -> None:
    """Fail unless the installed moto is the version these patches were written for."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"tests/support/moto_aws.py patches moto {MOTO_VERSION} internals; moto {moto.__version__} is installed:"
            " check the patched methods still exist and mean the same, then update MOTO_VERSION"
        )


def set_config(endpoint_url: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """POST ``config`` to the server's ``/moto-api/config``; the server's whole config after it."""
    require_moto_version()
    request = Request(
        f"{endpoint_url}/moto-api/config",
        data=json.dumps(config).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urlopen(request, timeout=10) as response:
        return dict(json.load(response))


@contextmanager
def executing_state_machines(endpoint_url: str) -> Iterator[None]:
    """Step Functions executions run by moto's interpreter inside the block (off again after it:
    the setting is process-wide, and other tests expect moto's default)."""
    set_config(endpoint_url, {"stepfunctions": {"execute_state_machine": True}})
    try:
        yield
    finally:
        set_config(endpoint_url, {"stepfunctions": {"execute_state_machine": False}})


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of the Lambda runtime's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        """The time left (a fixed 15 minutes: nothing here enforces a Lambda timeout)."""
        return 900_000


@contextmanager
def lambdas_in_process(routes: Mapping[str, LambdaHandler]) -> Iterator[list[tuple[str, Any]]]:
    """Invocations of the Lambda functions named in ``routes`` run the mapped handler in process.

    Yields the list of (function name, event) of every invocation, in order (what the test asserts
    on: which steps ran, how often). Restores moto's method when the block exits.
    """
    require_moto_version()
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction._invoke_lambda
    calls: list[tuple[str, Any]] = []

    def invoke_in_process(self: Any, event: Any = None) -> tuple[str, bool, str]:
        # moto's `invoke` passes the parsed payload (or the text "{}" when there was none)
        payload = json.loads(event) if isinstance(event, str | bytes) else (event if event is not None else {})
        calls.append((self.function_name, payload))
        handler = routes.get(self.function_name)
        if handler is None:
            error = {"errorType": "FunctionNotRouted", "errorMessage": f"no handler routed for {self.function_name}"}
            return json.dumps(error), True, ""
        context = LambdaContext(
            function_name=self.function_name,
            invoked_function_arn=self.function_arn,
            memory_limit_in_mb=int(self.memory_size or 128),
            aws_request_id=str(uuid.uuid4()),
        )
        try:
            return json.dumps(handler(payload, context)), False, ""
        except Exception as exc:  # what the Lambda runtime reports of an unhandled exception
            error = {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc),
            }
            return json.dumps(error), True, ""

    LambdaFunction._invoke_lambda = invoke_in_process
    try:
        yield calls
    finally:
        LambdaFunction._invoke_lambda = original


@contextmanager
def glue_jobs_in_process(routes: Mapping[str, GlueEntryPoint]) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """Runs of the Glue jobs named in ``routes`` call the mapped entry point in process (see the module
    docstring). Yields the (job name, arguments) of every run started; restores moto on exit."""
    require_moto_version()
    from moto.glue.models import FakeJob, FakeJobRun

    original_start, original_as_dict = FakeJob.start_job_run, FakeJobRun.as_dict
    runs: list[tuple[str, dict[str, str]]] = []

    def start_job_run(self: Any, *args: Any, **kwargs: Any) -> str:
        run_id = original_start(self, *args, **kwargs)
        entry_point = routes.get(self.name)
        if entry_point is None:
            return run_id
        job_run = next(r for r in self.job_runs if r.job_run_id == run_id)
        arguments = dict(job_run.arguments or {})
        runs.append((self.name, arguments))
        try:
            entry_point([item for name, value in arguments.items() for item in (name, value)])
        except Exception as exc:
            job_run._transitions = [("STARTING", "RUNNING"), ("RUNNING", "FAILED")]
            job_run.error_message = f"{type(exc).__name__}: {exc}"
        return run_id

    def as_dict(self: Any) -> dict[str, Any]:
        answer = original_as_dict(self)
        if getattr(self, "error_message", None):
            answer["ErrorMessage"] = self.error_message
        return answer

    FakeJob.start_job_run = start_job_run
    FakeJobRun.as_dict = as_dict
    with _glue_sync_without_callback_endpoint():
        try:
            yield runs
        finally:
            FakeJob.start_job_run, FakeJobRun.as_dict = original_start, original_as_dict


@contextmanager
def _glue_sync_without_callback_endpoint() -> Iterator[None]:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue import (
        StateTaskServiceGlue,
    )

    original = StateTaskServiceGlue.__dict__.get("_eval_integration_pattern")
    inherited = StateTaskServiceGlue._eval_integration_pattern

    def eval_integration_pattern(
        self: Any, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> None:
        if self.resource.condition != ResourceCondition.Sync:
            return inherited(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        # moto's steps for .sync (timeout, resolver, poll), without the callback endpoint it lacks here
        task_output = env.stack.pop()
        self.timeout.eval(env=env)
        timeout_seconds = env.stack.pop()
        env.stack.append(task_output)
        resolver = self._build_sync_resolver(
            env=env,
            resource_runtime_part=resource_runtime_part,
            normalised_parameters=normalised_parameters,
            state_credentials=state_credentials,
        )
        outcome = self._eval_sync(
            env=env,
            sync_resolver=resolver,
            timeout_seconds=timeout_seconds,
            callback_endpoint=None,
            heartbeat_endpoint=None,
        )
        env.stack.append(outcome)
        return None

    StateTaskServiceGlue._eval_integration_pattern = eval_integration_pattern
    try:
        yield
    finally:
        if original is None:
            del StateTaskServiceGlue._eval_integration_pattern
        else:
            StateTaskServiceGlue._eval_integration_pattern = original


@contextmanager
def sqs_receive_without_rescans() -> Iterator[None]:
    """ReceiveMessage and SendMessage at a cost linear in the queue's length (moto 5.2.5 is quadratic).

    For every message it hands out, moto's ``receive_message`` checks the retention period through
    ``get_queue_attributes(["MessageRetentionPeriod"])``, which computes EVERY attribute of the queue
    three times, ApproximateNumberOfMessages* among them (a pass over all messages, each reading the
    clock twice through datetime): 10 messages of a 2,000-message queue cost about a second. Here the
    check reads the queue's retention period itself: the same answer, without the passes. And the
    SQS models read the clock as epoch seconds from ``time.time`` instead of through two datetimes
    (moto's own `unix_time` gives the same number, ten times slower; nothing here freezes time).
    """
    require_moto_version()
    import time

    import moto.sqs.models as sqs_models

    original = sqs_models.SQSBackend.is_message_valid_based_on_retention_period
    clocks = (sqs_models.unix_time, sqs_models.unix_time_millis)

    def unix_time(dt: Any = None) -> float:
        return clocks[0](dt) if dt is not None else time.time()

    def unix_time_millis(dt: Any = None) -> float:
        return clocks[1](dt) if dt is not None else time.time() * 1000.0

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_period + message.sent_timestamp / 1000 > unix_time())

    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
    sqs_models.unix_time, sqs_models.unix_time_millis = unix_time, unix_time_millis
    try:
        yield
    finally:
        sqs_models.SQSBackend.is_message_valid_based_on_retention_period = original
        sqs_models.unix_time, sqs_models.unix_time_millis = clocks


# --------------------------------------------------------------------- IAM enforcement (least privilege)
#: (service, operation, params, region, account) -> [(IAM action, resource ARN)] a request needs
Authorisations = Callable[[str, str, dict[str, Any], str, str], list[tuple[str, str]]]
#: services whose requests `iam_enforced` authorises per IAM action and resource (others: moto's own check)
RESOURCE_CHECKED = ("dynamodb", "states", "glue", "sns", "sqs", "lambda")


@contextmanager
def iam_enforced(authorisations: Authorisations) -> Iterator[list[dict[str, str]]]:
    """moto's IAM enforcement on inside the block (``INITIAL_NO_AUTH_ACTION_COUNT`` 0, restored after).

    moto 5.2.5 authenticates every request (its access key must be an IAM user's or an assumed role's,
    its SigV4 signature must match) and then evaluates the caller's policies for ONE action,
    ``<service>:<operation>``, on ONE resource, which is ``*`` for every service but S3, SQS, IAM and
    STS: a statement scoped to an ARN (all of ours) never matches ``*``, so a least-privilege policy
    would be denied every DynamoDB, Step Functions, Glue, SNS and Lambda call. And some operations
    are not IAM actions (``dynamodb:TransactWriteItems`` is authorised as each item's PutItem /
    UpdateItem / DeleteItem / ConditionCheckItem; ``sqs:DeleteMessageBatch`` as ``sqs:DeleteMessage``;
    Lambda's ``Invoke`` is ``lambda:InvokeFunction``). For the services of `RESOURCE_CHECKED`,
    `ActionAuthenticatorMixin._authenticate_and_authorize_normal_action` is replaced by one moto
    check per (IAM action, resource) that ``authorisations`` says the request needs (the same
    signature and policy evaluation, with that action and resource). S3 keeps moto's own check
    (object and bucket ARNs, its ``ACTION_MAP``: multipart parts are ``s3:PutObject``), except
    DeleteObjects: moto checks s3:DeleteObject on the BUCKET's ARN (which an object-scoped grant
    never matches, so it answers every key AccessDenied), AWS on each key's: here each key's.

    Yields the list of every denial the server answered (caller's key, action, resource, error):
    a denial retried away by the code under test is still in it.
    """
    require_moto_version()
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMRequest

    denials: list[dict[str, str]] = []
    saved = (settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count)
    original_action = ActionAuthenticatorMixin._authenticate_and_authorize_action
    original_normal = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action
    original_s3 = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action

    def authorize_action(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        try:
            original_action(self, iam_request_cls, resource)
        except Exception as exc:
            credential = str(self.headers.get("Authorization", "")).partition("Credential=")[2].split("/")[0]
            action = getattr(iam_request_cls, "iam_action", f"{self.service_name}:{self._get_action()}")
            denials.append({"key": credential, "action": action, "resource": resource, "error": repr(exc)})
            raise

    def authorize_normal(self: Any, resource: str = "*") -> None:
        service = str(self.headers.get("Authorization", "")).partition("Credential=")[2].split("/")[3:4]
        name = service[0] if service else ""
        if name not in RESOURCE_CHECKED:
            return original_normal(self, resource)
        needed = authorisations(
            name, self._get_action(), _request_params(self, name), self.region, self.current_account
        )
        for action, arn in needed:
            self._authenticate_and_authorize_action(_request_for(IAMRequest, action), arn)
        return None

    def authorize_s3(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        if bucket_name and key_name is None and self.data.get("Action") == "DeleteObject" and self.is_delete_keys():
            import xmltodict

            objects = xmltodict.parse(self.body, strip_whitespace=False)["Delete"].get("Object", [])
            for obj in objects if isinstance(objects, list) else [objects]:
                original_s3(self, bucket_name=bucket_name, key_name=obj["Key"])
            return None
        return original_s3(self, bucket_name=bucket_name, key_name=key_name)

    settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize_action
    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize_normal
    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = authorize_s3
    try:
        yield denials
    finally:
        ActionAuthenticatorMixin._authenticate_and_authorize_action = original_action
        ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = original_normal
        ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = original_s3
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved


def _request_for(base: type, action: str) -> type:
    """moto's IAMRequest evaluating ``action`` (moto derives it from the operation's name)."""

    class _Request(base):  # type: ignore[misc, valid-type]
        iam_action = action

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._action = action

    return _Request


def _request_params(response: Any, service: str) -> dict[str, Any]:
    """The request's parameters as a botocore caller passed them (the JSON body; SNS's query
    parameters; Lambda's function name from the path)."""
    if service == "lambda":
        from urllib.parse import unquote

        parts = str(response.path).split("/")
        at = parts.index("functions") + 1 if "functions" in parts else len(parts)
        if at < len(parts) and parts[at]:
            return {"FunctionName": unquote(parts[at])}
        parsed = json.loads(response.raw_body or b"{}")  # CreateFunction: the name is in the body
        return {"FunctionName": parsed.get("FunctionName", "*")} if isinstance(parsed, dict) else {}
    if service == "sns":
        return {"TopicArn": response._get_param("TopicArn")}
    raw = response.raw_body
    if isinstance(raw, bytes):
        raw = raw.decode()
    try:
        params = json.loads(raw) if raw else {}
    except ValueError:
        params = {}
    if service == "sqs" and "QueueUrl" not in params:  # the query protocol
        params = {"QueueUrl": response._get_param("QueueUrl")}
    return params if isinstance(params, dict) else {}


@contextmanager
def interpreter_acting_as(credentials: Mapping[str, str], on_client: Callable[[Any], None]) -> Iterator[None]:
    """moto's Step Functions interpreter calls Lambda, Glue and SNS with these credentials (the state
    machine role's), each new client handed to ``on_client`` (the action recorder's hooks).

    moto 5.2.5's ``boto_client_for`` signs the interpreter's calls with the fixed keys "ak"/"sk",
    which no IAM user holds: under enforcement every task would fail InvalidClientTokenId. On AWS the
    service acts with the state machine's role; here the same client is built with that role's
    assumed credentials, so its policy is evaluated like any caller's.
    """
    require_moto_version()
    import boto3
    from botocore.config import Config
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_glue,
        state_task_service_sns,
    )
    from moto.stepfunctions.parser.asl.utils import boto_client

    modules = (lambda_eval_utils, state_task_service_glue, state_task_service_sns)
    original = boto_client.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        client = boto3.session.Session(region_name=region, **credentials).client(
            service,
            endpoint_url=f"http://localhost:{boto_client.moto_server_port()}",
            config=Config(parameter_validation=False, retries={"total_max_attempts": 1}, read_timeout=900),
        )
        on_client(client)
        return client

    for module in modules:
        module.boto_client_for = boto_client_for  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in modules:
            module.boto_client_for = original  # type: ignore[attr-defined]
