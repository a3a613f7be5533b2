"""The intake on moto's server: S3 events → SQS (with a DLQ) → the intake handler → DynamoDB → Step Functions.

A real bucket notifies a real queue (moto enqueues the events, the s3:TestEvent first); the SQS
poller of `tests.support` delivers batches to the real handler as the Lambda service does (partial
batch failures honoured); the state machine is a trivial Pass one (the real ASL is tested elsewhere).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from ndjson2parquet.aws.handlers import intake as handler_module
from ndjson2parquet.config.settings import AwsSettings, BatchPolicy, IntakeSettings
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.state.dynamodb import DynamoDbStore
from ndjson2parquet.state.dynamodb.table import create_table
from tests.support.moto_server import MotoServer
from tests.support.sqs_poller import SqsPoller

ROLE = "arn:aws:iam::123456789012:role/ndjson2parquet-sfn"
PASS = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
MAX_RECEIVES = 2
LINE = b'{"id": 1}\n'


@pytest.fixture(scope="module")
def clients(moto: MotoServer) -> dict[str, Any]:
    """One client per service for the module (building a client costs more than many requests)."""
    return {name: moto.client(name) for name in ("s3", "sqs", "dynamodb", "stepfunctions")}


@dataclass
class World:
    """One landing bucket, its event queue and DLQ, a state table, a state machine, the wired handler."""

    moto: MotoServer
    bucket: str
    queue_url: str
    dlq_url: str
    store: DynamoDbStore
    machine_arn: str
    date: str
    clients: dict[str, Any]

    def client(self, service: str) -> Any:
        return self.clients[service]

    def put(self, name: str, body: bytes = LINE) -> str:
        key = f"landing/{self.date}/{name}"
        self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=body)
        return f"s3://{self.bucket}/{key}"

    def poller(self, handler: Callable[[dict[str, Any], Any], Any] = handler_module.handler) -> SqsPoller:
        return SqsPoller(self.client("sqs"), self.queue_url, handler, batch_size=10)

    def executions(self) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        found = sfn.list_executions(stateMachineArn=self.machine_arn)["executions"]
        return [sfn.describe_execution(executionArn=e["executionArn"]) for e in found]

    def dlq_bodies(self) -> list[str]:
        got = self.client("sqs").receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10)
        return [m["Body"] for m in got.get("Messages", [])]


@pytest.fixture
def world(moto: MotoServer, clients: dict[str, Any]) -> Iterator[World]:
    tag = uuid.uuid4().hex[:10]
    s3, sqs = clients["s3"], clients["sqs"]
    bucket = f"landing-{tag}"
    s3.create_bucket(Bucket=bucket)
    dlq_url = sqs.create_queue(QueueName=f"intake-dlq-{tag}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)})
    queue_url = sqs.create_queue(
        QueueName=f"intake-{tag}", Attributes={"VisibilityTimeout": "2", "RedrivePolicy": redrive}
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "landing/"}]}},
                }
            ]
        },
    )
    table = f"state-{tag}"
    create_table(clients["dynamodb"], table)
    machine = clients["stepfunctions"].create_state_machine(name=f"manifests-{tag}", definition=PASS, roleArn=ROLE)
    settings = IntakeSettings(
        aws=AwsSettings(state=f"dynamodb://{table}", state_machine_arn=machine["stateMachineArn"]),
        landing=f"s3://{bucket}/landing",
        batch=BatchPolicy(max_files=5),
    )
    intake = handler_module.build_intake(
        settings,
        dynamodb=clients["dynamodb"],
        stepfunctions=clients["stepfunctions"],
        s3=s3,
    )
    handler_module.use(intake)
    today = datetime.now(UTC).date().isoformat()  # a date inside its grace period: only full manifests close
    arn = machine["stateMachineArn"]
    yield World(moto, bucket, queue_url, dlq_url, intake.store, arn, today, clients)  # type: ignore[arg-type]
    handler_module.use(None)
    intake.store.close()


def test_put_objects_are_registered_once_and_each_full_manifest_starts_one_execution_named_by_it(
    world: World,
) -> None:
    uris = [world.put(f"part-{i}.ndjson") for i in range(6)]
    uris.append(world.put("my events été+1.ndjson"))  # its key arrives URL-encoded
    world.put("part-0.ndjson")  # the same bytes again: the same version, a duplicate event
    world.put("_SUCCESS")  # not an input
    stats = world.poller().drain(timeout_s=30)
    assert stats.batches_failed == 0 and stats.reported_failed == 0
    assert stats.received == 10  # the s3:TestEvent, 7 objects, one duplicate, one non-input
    registered = {uri: world.store.files_by_uri(uri) for uri in uris}
    assert all(len(versions) == 1 for versions in registered.values()), registered
    [manifest] = world.store.manifests_of("default", world.date)
    assert manifest.state == ManifestState.CREATED and len(manifest.file_ids) == 5
    [execution] = world.executions()
    assert execution["name"] == manifest.manifest_id
    assert json.loads(execution["input"])["manifest_id"] == manifest.manifest_id
    assert len(world.store.pending("default", world.date, 100).items) == 2

    for i in range(3):  # three more: the two waiting and these fill the next manifest
        world.put(f"late-{i}.ndjson")
    world.poller().drain(timeout_s=30)
    manifests = list(world.store.manifests_of("default", world.date))
    assert len(manifests) == 2
    assert sorted(e["name"] for e in world.executions()) == sorted(m.manifest_id for m in manifests)
    assert world.dlq_bodies() == []


def test_a_poison_message_ends_in_the_dlq_while_the_rest_of_its_batch_succeeds(world: World) -> None:
    sqs = world.client("sqs")
    sqs.send_message(QueueUrl=world.queue_url, MessageBody="this is not an S3 event")
    uris = [world.put(f"ok-{i}.ndjson") for i in range(2)]
    poller = world.poller()
    stats = poller.drain(timeout_s=30)
    assert stats.reported_failed == MAX_RECEIVES  # delivered twice, reported failed twice, then redriven
    assert stats.batches_failed == 0
    assert world.dlq_bodies() == ["this is not an S3 event"]
    assert all(world.store.files_by_uri(uri)[0].state == FileState.PENDING for uri in uris)


def test_a_handler_crashing_after_its_writes_leaves_one_registration_and_one_execution_per_manifest(
    world: World,
) -> None:
    crashes = []

    def crash_once(event: dict[str, Any], context: Any) -> Any:
        response = handler_module.handler(event, context)
        if not crashes:
            crashes.append(len(event["Records"]))
            raise RuntimeError("the Lambda died before answering")  # every write done, no response
        return response

    uris = [world.put(f"c-{i}.ndjson") for i in range(5)]
    stats = world.poller(crash_once).drain(timeout_s=30)
    assert stats.batches_failed == 1 and crashes  # the whole batch came back after its visibility timeout
    assert all(len(world.store.files_by_uri(uri)) == 1 for uri in uris)
    [manifest] = world.store.manifests_of("default", world.date)
    assert [e["name"] for e in world.executions()] == [manifest.manifest_id]
    assert world.dlq_bodies() == []


def test_a_removed_object_registers_nothing_more(world: World) -> None:
    uri = world.put("gone.ndjson")
    world.client("s3").delete_object(Bucket=world.bucket, Key=uri.split("/", 3)[3])
    stats = world.poller().drain(timeout_s=30)
    assert (stats.received, stats.reported_failed) == (3, 0)  # the s3:TestEvent, the put, the removal
    assert world.store.files_by_uri(uri) == []  # its put event found it gone: nothing to convert


def test_an_event_delivered_after_the_event_of_a_newer_version_leaves_the_newer_one_registered(world: World) -> None:
    sqs = world.client("sqs")
    world.poller().drain(timeout_s=30)  # the s3:TestEvent
    uri = world.put("orders.ndjson", b'{"v": 1}\n')
    [old_event] = sqs.receive_message(QueueUrl=world.queue_url, MaxNumberOfMessages=10)["Messages"]
    sqs.delete_message(QueueUrl=world.queue_url, ReceiptHandle=old_event["ReceiptHandle"])  # held back
    world.put("orders.ndjson", b'{"v": 2}\n{"v": 3}\n')
    world.poller().drain(timeout_s=30)  # the newer version's event first
    sqs.send_message(QueueUrl=world.queue_url, MessageBody=old_event["Body"])  # then the older one
    stats = world.poller().drain(timeout_s=30)
    assert stats.reported_failed == 0
    [current] = world.store.files_by_uri(uri)  # the older version was never registered
    assert current.state == FileState.PENDING and current.size == 18


def test_dynamodb_throttling_during_registration_is_retried_and_registers_each_file_once(world: World) -> None:
    dynamodb, throttled = world.client("dynamodb"), []

    def throttle(**_: Any) -> Any:
        if len(throttled) < 3:  # the first three transactions are refused, as a hot partition would
            throttled.append(1)
            error = {"Code": "ThrottlingException", "Message": "Rate of requests exceeds the allowed throughput"}
            return SimpleNamespace(status_code=400), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return None

    dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", throttle)
    try:
        uris = [world.put(f"t-{i}.ndjson") for i in range(3)]
        stats = world.poller().drain(timeout_s=30)
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb.TransactWriteItems", throttle)
    assert len(throttled) == 3 and stats.reported_failed == 0 and stats.batches_failed == 0
    assert all(len(world.store.files_by_uri(uri)) == 1 for uri in uris)


def test_the_poller_fails_a_whole_batch_whose_response_names_an_unknown_message_as_lambda_does(world: World) -> None:
    answers = [{"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}]

    def answer(event: dict[str, Any], context: Any) -> Any:
        return answers.pop() if answers else {"batchItemFailures": []}

    world.client("sqs").send_message(QueueUrl=world.queue_url, MessageBody="one")
    stats = world.poller(answer).drain(timeout_s=30)
    assert stats.batches_failed == 1 and stats.invocations == 2  # nothing deleted, all of it delivered again
    assert stats.deleted == stats.received - 2  # the TestEvent and "one", each received twice
    assert world.dlq_bodies() == []
