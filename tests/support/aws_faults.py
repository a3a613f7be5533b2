"""Faults injected into an `AwsDeployment` with botocore event hooks on each function's own clients.

Every fault counts what it did (``fired``), so a test can assert it really happened:

* `Throttling`: every n-th DynamoDB request answered ThrottlingException or
  ProvisionedThroughputExceededException (in turn; never the retry right after, so backoff wins);
* `ConditionFailures`: a conditional write answered ConditionalCheckFailedException (or, for a
  transaction, TransactionCanceledException with its first item's condition failed), NOT applied;
* `LostResponses`: a write applied, then its response lost (a read timeout): the caller's retry
  meets its own write (a condition that no longer holds);
* `CrashPoints`: each function's process dies (`Crash`) before, and once after, each kind of write it
  makes (DynamoDB, S3, Step Functions), at most once per subject (an SQS message, a manifest) so a
  retried invocation goes through;
* `ConvertFailures`: one convert invocation's input reads throttled for good (transient: the state
  machine's Retry), one refused (terminal: compensated, the files re-driven by a later manifest);
* `VanishingExecution`: an execution stopped behind the workflow's back while it holds its manifest
  (recovery re-drives it); `RacingExecution`: a second execution, another name, on one manifest;
* `send_poison`, `DuplicateAndDelayEvents`: what SQS can do to the intake's messages.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ReadTimeoutError

from tests.support.aws_deployment import AwsDeployment, Crash, current_invocation

WRITES = {
    "dynamodb": ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"),
    "s3": ("PutObject", "DeleteObject", "DeleteObjects", "CopyObject", "CompleteMultipartUpload"),
    "stepfunctions": ("StartExecution",),
}


def _error(status: int, code: str, message: str, **extra: Any) -> tuple[Any, dict[str, Any]]:
    """What a before-call hook returns to stand for the service's answer (botocore parses no more)."""
    body = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}, **extra}
    return SimpleNamespace(status_code=status, headers={}, content=b""), body


class _Hooks:
    """Registered handlers, removed by `remove`."""

    def __init__(self) -> None:
        self._registered: list[tuple[Any, str, Callable[..., Any]]] = []
        self.fired: Counter[str] = Counter()
        self._lock = threading.Lock()

    def on(self, client: Any, event: str, handler: Callable[..., Any]) -> None:
        client.meta.events.register(event, handler)
        self._registered.append((client, event, handler))

    def remove(self) -> None:
        """Unregister every hook."""
        for client, event, handler in self._registered:
            client.meta.events.unregister(event, handler)
        self._registered.clear()


class Throttling(_Hooks):
    """Every ``every``-th DynamoDB request of the given functions is throttled (alternating codes)."""

    CODES = ("ThrottlingException", "ProvisionedThroughputExceededException")

    def __init__(self, deployment: AwsDeployment, functions: Iterable[str], every: int = 15) -> None:
        super().__init__()
        self.every, self._seen = every, 0
        self._just_throttled = threading.local()
        for function in functions:
            self.on(deployment.client(function, "dynamodb"), "before-call.dynamodb.*", self._maybe)

    def _maybe(self, **_: Any) -> Any:
        if getattr(self._just_throttled, "value", False):
            self._just_throttled.value = False  # the retry goes through
            return None
        with self._lock:
            self._seen += 1
            if self._seen % self.every:
                return None
            code = self.CODES[self.fired.total() % 2]
            self.fired[code] += 1
        self._just_throttled.value = True
        return _error(400, code, "Rate of requests exceeds the allowed throughput")


class ConditionFailures(_Hooks):
    """The first ``count`` calls of ``operation`` by ``function`` fail their condition (not applied)."""

    def __init__(self, deployment: AwsDeployment, function: str, operation: str, count: int = 1) -> None:
        super().__init__()
        self.operation, self.left = operation, count
        self.on(deployment.client(function, "dynamodb"), f"before-call.dynamodb.{operation}", self._maybe)

    def _maybe(self, params: dict[str, Any], **_: Any) -> Any:
        with self._lock:
            if self.left <= 0:
                return None
            self.left -= 1
            self.fired[self.operation] += 1
        if self.operation != "TransactWriteItems":
            return _error(400, "ConditionalCheckFailedException", "The conditional request failed")
        items = json.loads(params["body"])["TransactItems"]
        reasons = [{"Code": "ConditionalCheckFailed" if i == 0 else "None"} for i in range(len(items))]
        codes = ", ".join(r["Code"] for r in reasons)
        return _error(
            400,
            "TransactionCanceledException",
            f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
            CancellationReasons=reasons,
        )


class LostResponses(_Hooks):
    """The first ``count`` calls of ``operation`` by ``function`` are applied, then their answer is lost."""

    def __init__(self, deployment: AwsDeployment, function: str, service: str, operation: str, count: int = 1) -> None:
        super().__init__()
        self.operation, self.left = operation, count
        self.on(deployment.client(function, service), f"after-call.{service}.{operation}", self._lose)

    def _lose(self, http_response: Any, **_: Any) -> None:
        with self._lock:
            if self.left <= 0 or http_response.status_code >= 300:
                return
            self.left -= 1
            self.fired[self.operation] += 1
        raise ReadTimeoutError(endpoint_url="moto: the response was lost")


class CrashPoints(_Hooks):
    """Each function's process dies before, then (the next time) after, each kind of write it makes.

    At most one crash per subject (message id, manifest id) and function: the retry goes through. A
    scheduled pass has no subject: each of its crash points fires once, and its next run goes on.
    ``fired`` counts ``function:operation:before|after``.
    """

    def __init__(self, deployment: AwsDeployment, functions: Iterable[str]) -> None:
        super().__init__()
        self._done: set[tuple[str, str, str]] = set()
        self._crashed: set[tuple[str, str]] = set()
        for function in functions:
            for service, operations in WRITES.items():
                client = deployment.client(function, service)
                for operation in operations:
                    self.on(client, f"before-call.{service}.{operation}", self._hook(function, operation, "before"))
                    self.on(client, f"after-call.{service}.{operation}", self._hook(function, operation, "after"))

    def _hook(self, function: str, operation: str, when: str) -> Callable[..., None]:
        def hook(**kwargs: Any) -> None:
            invocation = current_invocation()
            if invocation is None or invocation.function != function:
                return
            if when == "after" and kwargs["http_response"].status_code >= 300:
                return  # not applied: no crash "after" it
            with self._lock:
                point = (function, operation, when)
                if point in self._done or (when == "after" and (function, operation, "before") not in self._done):
                    return
                if any((function, s) in self._crashed for s in invocation.subjects):
                    return
                self._done.add(point)
                self._crashed.update((function, s) for s in invocation.subjects)
                self.fired[":".join(point)] += 1
            raise Crash(f"{function} died {when} {operation}")

        return hook


class ConvertFailures(_Hooks):
    """One convert invocation's landing reads throttled for good (503 SlowDown: transient), then another
    manifest's refused (403 AccessDenied: terminal). Only that invocation: its retry or re-drive reads."""

    def __init__(self, deployment: AwsDeployment, function: str = "convert") -> None:
        super().__init__()
        self.bucket = deployment.landing_bucket
        self.transient: tuple[int, str] | None = None  # (invocation serial, manifest id)
        self.terminal: tuple[int, str] | None = None
        self.on(deployment.client(function, "s3"), "before-call.s3.GetObject", self._maybe)

    def _maybe(self, params: dict[str, Any], **_: Any) -> Any:
        invocation = current_invocation()
        if invocation is None or not invocation.subjects or f"/{self.bucket}/" not in params.get("url", ""):
            return None
        me = (invocation.serial, invocation.subjects[0])
        with self._lock:
            if self.transient is None:
                self.transient = me
            elif self.terminal is None and me[1] != self.transient[1] and me[0] > self.transient[0]:
                self.terminal = me
            if me == self.transient:
                self.fired["transient"] += 1
                return _error(503, "SlowDown", "Please reduce your request rate.")
            if me == self.terminal:
                self.fired["terminal"] += 1
                return _error(403, "AccessDenied", "Access Denied")
        return None


class VanishingExecution:
    """The ``nth`` convert invocation finds its execution stopped behind its back, and its Lambda dies."""

    def __init__(self, deployment: AwsDeployment, nth: int = 3) -> None:
        self.deployment, self.nth, self.seen = deployment, nth, 0
        self.vanished: list[str] = []  # manifest ids
        deployment.on_invoke.append(self._maybe)

    def _maybe(self, function: str, event: Any) -> None:
        if function != "convert" or self.vanished:
            return
        self.seen += 1
        if self.seen < self.nth:
            return
        arn = str(event["owner"]).removeprefix("sfn-execution:")
        self.deployment.sfn.stop_execution(executionArn=arn, cause="test: the execution vanished")
        self.vanished.append(str(event["manifest_id"]))
        raise Crash("the execution is gone")


class RacingExecution:
    """When the ``nth`` start step runs, a second execution (``<manifest id>-race``) starts on its manifest."""

    def __init__(self, deployment: AwsDeployment, nth: int = 2) -> None:
        self.deployment, self.nth, self.seen = deployment, nth, 0
        self.raced: list[str] = []  # the racing executions' ARNs
        deployment.on_invoke.append(self._maybe)

    def _maybe(self, function: str, event: Any) -> None:
        if function != "start" or self.raced or str(event.get("execution_arn", "")).endswith("-race"):
            return
        self.seen += 1
        if self.seen < self.nth:
            return
        manifest_id = str(event["manifest_id"])
        answer = self.deployment.sfn.start_execution(
            stateMachineArn=self.deployment.machine_arn,
            name=f"{manifest_id}-race",
            input=json.dumps({"manifest_id": manifest_id}),
        )
        self.raced.append(answer["executionArn"])


def send_poison(deployment: AwsDeployment, bucket: str, key: str) -> str:
    """A message that names an object but is no S3 event notification (a broken record): its body."""
    body = json.dumps(
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {"object": {"key": key}},
                    "bucket": bucket,
                }
            ]
        }
    )
    deployment.sqs.send_message(QueueUrl=deployment.queue_url, MessageBody=body)
    return body


class DuplicateAndDelayEvents:
    """SQS's at-least-once, unordered delivery, on the intake's batches as they are delivered: a
    fraction ``duplicate`` of the events is sent again (delivered twice, later); an event ``late``
    says is taken out of its batch and sent again ``delay_s`` later (an older version's event after
    the newer one's). ``done`` counts both."""

    def __init__(
        self,
        deployment: AwsDeployment,
        rng: random.Random,
        duplicate: float,
        late: Callable[[str], bool] = lambda _: False,
        delay_s: int = 3,
    ) -> None:
        self.deployment, self.rng, self.duplicate, self.late, self.delay_s = deployment, rng, duplicate, late, delay_s
        self.done: Counter[str] = Counter()
        self._sent_again: set[str] = set()  # message ids of the copies: never copied again
        deployment.on_invoke.append(self._tamper)

    def _tamper(self, function: str, event: Any) -> None:
        if function != "intake":
            return
        keep, again, delayed = [], [], []
        for record in event["Records"]:
            body, first = record["body"], record["messageId"] not in self._sent_again
            if first and self.late(body) and record["attributes"]["ApproximateReceiveCount"] == "1":
                delayed.append(body)  # taken out of this batch: it comes again later
                continue
            keep.append(record)
            if first and '"s3:TestEvent"' not in body and self.rng.random() < self.duplicate:
                again.append(body)
        event["Records"] = keep
        sqs, url = self.deployment.sqs, self.deployment.queue_url
        for bodies, delay, name in ((again, 0, "duplicated"), (delayed, self.delay_s, "late")):
            for i in range(0, len(bodies), 10):
                entries = [
                    {"Id": str(j), "MessageBody": b, "DelaySeconds": delay} for j, b in enumerate(bodies[i : i + 10])
                ]
                answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
                self._sent_again.update(m["MessageId"] for m in answer.get("Successful", []))
            self.done[name] += len(bodies)
