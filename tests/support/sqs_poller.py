"""Deliver SQS batches to a Lambda handler the way the Lambda service's event source mapping does.

moto's own SQS → Lambda mapping ignores partial batch failures (it needs Docker, too), so tests
drive handlers with this poller over a real queue on moto's server:

* it receives up to ``batch_size`` messages (several ReceiveMessage calls of at most 10, within a
  short batching window), each received message hidden for the queue's visibility timeout;
* it invokes the handler with the Lambda SQS event (``Records`` of messageId, receiptHandle, body,
  attributes with ApproximateReceiveCount, eventSourceARN, ...) and a Lambda context;
* with ``ReportBatchItemFailures`` it deletes every message of the batch except those reported in
  ``batchItemFailures``; a response naming an unknown id, or a handler that raises, fails the whole
  batch (nothing deleted), as Lambda does;
* a failed message becomes visible again when its visibility timeout ends, and the queue itself
  moves a message received ``maxReceiveCount`` times to its DLQ (RedrivePolicy): SQS does that on
  receive, and moto's server does it the same way, so the poller does not redrive on its own.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class FakeLambdaContext:
    """The attributes of a Lambda context that Powertools reads."""

    function_name: str = "ndjson2parquet-intake"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ndjson2parquet-intake"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/ndjson2parquet-intake"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        """Plenty: tests never run into a Lambda timeout."""
        return 300_000


def lambda_sqs_record(
    message_id: str,
    body: str,
    *,
    receipt_handle: str = "",
    receive_count: int = 1,
    queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:events",
    sent_ms: int = 0,
) -> dict[str, Any]:
    """One record of the Lambda SQS event, as the event source mapping builds it."""
    return {
        "messageId": message_id,
        "receiptHandle": receipt_handle or f"receipt-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(sent_ms),
            "SenderId": "AIDAS3SERVICE",
            "ApproximateFirstReceiveTimestamp": str(sent_ms),
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


@dataclass
class PollStats:
    """What the poller did."""

    invocations: int = 0
    received: int = 0
    deleted: int = 0
    reported_failed: int = 0
    batches_failed: int = 0  # the handler raised or answered unreadably: nothing of the batch deleted
    responses: list[Any] = field(default_factory=list)


class SqsPoller:
    """Polls one queue and invokes a handler with batches, deleting only what succeeded."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Handler,
        *,
        batch_size: int = 10,
        visibility_timeout_s: int | None = None,
        batching_window_s: float = 0.0,
        report_batch_item_failures: bool = True,
        context_factory: Callable[[], Any] = FakeLambdaContext,
    ) -> None:
        if not 1 <= batch_size <= 10_000:
            raise ValueError("an SQS event source mapping takes batches of 1 to 10,000 messages")
        self.sqs, self.queue_url, self.handler = sqs, queue_url, handler
        self.batch_size, self.batching_window_s = batch_size, batching_window_s
        self.visibility_timeout_s = visibility_timeout_s
        self.report_batch_item_failures = report_batch_item_failures
        self.context_factory = context_factory
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.queue_arn = attrs["QueueArn"]
        self.stats = PollStats()

    def poll_once(self) -> int:
        """Receive one batch and invoke the handler with it; the number of messages delivered (0: none)."""
        messages = self._receive()
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        self.stats.invocations += 1
        self.stats.received += len(messages)
        try:
            response = self.handler(event, self.context_factory())
        except Exception:  # the invocation failed: every message returns after its visibility timeout
            self.stats.batches_failed += 1
            return len(messages)
        self.stats.responses.append(response)
        keep = self._failed_ids(response, {m["MessageId"] for m in messages})
        if keep is None:
            self.stats.batches_failed += 1
            return len(messages)
        self.stats.reported_failed += len(keep)
        done = [m for m in messages if m["MessageId"] not in keep]
        for chunk in _chunks(done, 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self.stats.deleted += len(done)
        return len(messages)

    def drain(self, timeout_s: float = 30.0, idle_s: float = 0.05) -> PollStats:
        """Poll until the queue holds no message at all (visible or in flight), or the timeout ends."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.poll_once():
                continue
            if self._empty():
                return self.stats
            time.sleep(idle_s)  # messages in flight: wait for their visibility timeout to end
        raise TimeoutError(f"queue not drained in {timeout_s} s: {self.stats}")

    def _receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        window_ends = time.monotonic() + self.batching_window_s
        while len(messages) < self.batch_size:
            kwargs: dict[str, Any] = {
                "QueueUrl": self.queue_url,
                "MaxNumberOfMessages": min(10, self.batch_size - len(messages)),
                "MessageSystemAttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
            }
            if self.visibility_timeout_s is not None:
                kwargs["VisibilityTimeout"] = self.visibility_timeout_s
            got = self.sqs.receive_message(**kwargs).get("Messages", [])
            messages.extend(got)
            if not got and time.monotonic() >= window_ends:
                break
        # a message whose visibility ended while the batch was gathered can come twice: once in a batch
        return list({m["MessageId"]: m for m in messages}.values())

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attrs = message.get("Attributes", {})
        record = lambda_sqs_record(
            message["MessageId"],
            message["Body"],
            receipt_handle=message["ReceiptHandle"],
            receive_count=int(attrs.get("ApproximateReceiveCount", 1)),
            queue_arn=self.queue_arn,
            sent_ms=int(attrs.get("SentTimestamp", 0)),
        )
        record["md5OfBody"] = message.get("MD5OfBody", "")
        return record

    def _failed_ids(self, response: Any, delivered: set[str]) -> set[str] | None:
        """The ids to keep; None when the whole batch counts as failed."""
        if not self.report_batch_item_failures:
            return set()
        if response is None:
            return set()
        if not isinstance(response, dict):
            return None
        failures = response.get("batchItemFailures") or []
        ids = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
        if None in ids or "" in ids or not ids <= delivered:
            return None  # Lambda: an invalid or unknown identifier fails the whole batch
        return {i for i in ids if i is not None}

    def _empty(self) -> bool:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 0


def _chunks(items: list[Any], n: int) -> list[list[Any]]:
    iterator = iter(items)
    return list(iter(lambda: list(itertools.islice(iterator, n)), []))
