"""The scheduled handlers (recover, seal) against the deployed workflow on moto's server: the ASL file
run by moto's interpreter, its Lambdas routed to our step handlers (the deployment of
test_state_machine.py), a DynamoDB state table and an S3 landing prefix and lake. moto stores
schedules but never fires them: the tests call the handlers."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq
import pytest

from ndjson2parquet.aws.config import load_scheduled_settings
from ndjson2parquet.aws.handlers import recover as recover_handler
from ndjson2parquet.aws.handlers import seal as seal_handler
from ndjson2parquet.aws.observability import observability
from ndjson2parquet.aws.runtime import AwsClients, ScheduledRuntime
from ndjson2parquet.domain.partitioning import Partitioner
from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.domain.states import FileState, ManifestState
from tests.integration.aws.test_state_machine import (  # the deployment and its module-scoped fixtures
    DATE,
    ROWS_PER_FILE,
    Deployment,
    clients,  # noqa: F401
    deployment,  # noqa: F401
    moto,  # noqa: F401
)
from tests.support.moto_aws import lambdas_in_process
from tests.support.sqs_poller import FakeLambdaContext


@pytest.fixture
def aws(deployment: Deployment) -> Iterator[Deployment]:  # noqa: F811
    deployment.reset()
    yield deployment
    recover_handler.use(None)
    seal_handler.use(None)


def scheduled(aws: Deployment, **explicit: Any) -> ScheduledRuntime:
    """The scheduled handlers' runtime over the deployment, injected into both handlers."""
    settings = load_scheduled_settings(
        environ={},
        state=aws.settings.state,
        lake=aws.settings.lake,
        landing=f"s3://{aws.bucket}/landing",
        state_machine_arn=aws.machine,
        partitioner=Partitioner(default_dataset="events"),  # the deployment's dataset
        **explicit,
    )
    runtime = ScheduledRuntime(settings, AwsClients(dynamodb=aws.ddb, s3=aws.s3, stepfunctions=aws.sfn), aws.engine)
    obs = observability(f"n2p-sched-{aws.suffix}", "n2p-test", "INFO")
    recover_handler.use(runtime, obs)
    seal_handler.use(runtime, obs)
    return runtime


def context() -> FakeLambdaContext:
    """A Lambda context as the service passes one (Powertools reads its keys into the logs)."""
    return FakeLambdaContext(
        function_name="n2p-scheduled",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:n2p-scheduled",
    )


def executions_of(aws: Deployment, manifest_id: str) -> list[dict[str, Any]]:
    found = aws.sfn.list_executions(stateMachineArn=aws.machine)["executions"]
    return [e for e in found if e["name"] == manifest_id or e["name"].startswith(f"{manifest_id}-r")]


def wait_for_executions(aws: Deployment) -> None:
    """Until no execution of the state machine runs (the block routing the Lambdas stays open)."""
    deadline = time.monotonic() + 45
    while any(e["status"] == "RUNNING" for e in aws.sfn.list_executions(stateMachineArn=aws.machine)["executions"]):
        assert time.monotonic() < deadline, "an execution did not end"
        time.sleep(0.05)


def rows_in_parts(aws: Deployment, manifest_id: str) -> int:
    rows = 0
    for key in aws.parts(manifest_id):
        rows += pq.read_table(io.BytesIO(aws.s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read())).num_rows
    return rows


def put_lost(aws: Deployment, date: str, files: int) -> list[str]:
    """Objects put in the landing prefix whose events never come (the bucket notifies no one)."""
    keys = []
    for i in range(files):
        key = f"landing/{date}/{uuid.uuid4().hex[:8]}-lost{i}.ndjson"
        body = "".join(json.dumps({"event_id": f"lost-{i}-{n}", "n": n}) + "\n" for n in range(ROWS_PER_FILE))
        aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=body.encode())
        keys.append(key)
    return keys


def register(aws: Deployment, date: str, files: int) -> list[FileRecord]:
    """Objects put and registered (as the intake would), PENDING."""
    records, now = [], time.time()
    for key in put_lost(aws, date, files):
        head = aws.s3.head_object(Bucket=aws.bucket, Key=key)
        obj = ObjectInfo(f"s3://{aws.bucket}/{key}", key, head["ETag"].strip('"'), head["ContentLength"], now)
        records.append(FileRecord.new("events", date, obj, now))
    aws.store.register(records)
    return records


def assert_succeeded_once(aws: Deployment, manifest_id: str, files: int, runs: int) -> None:
    manifest = aws.store.get_manifest(manifest_id)
    assert (manifest.state, manifest.runs, manifest.settled) == (ManifestState.SUCCEEDED, runs, True)
    assert {f.state for f in aws.store.files_of(manifest)} == {FileState.DONE}
    assert rows_in_parts(aws, manifest_id) == files * ROWS_PER_FILE
    assert [e["status"] for e in executions_of(aws, manifest_id)].count("SUCCEEDED") == 1


def test_a_manifest_whose_execution_was_stopped_before_its_first_step_is_redriven_once(aws: Deployment) -> None:
    manifest_id = aws.manifest(files=2)

    def stop_first(event: dict[str, Any], _: Any) -> Any:
        aws.sfn.stop_execution(executionArn=event["execution_arn"], cause="test: stopped")
        raise RuntimeError("stopped before the start step")

    with lambdas_in_process({f"n2p-start-{aws.suffix}": stop_first}):
        aws.sfn.start_execution(
            stateMachineArn=aws.machine, name=manifest_id, input=json.dumps({"manifest_id": manifest_id})
        )
        wait_for_executions(aws)
    assert aws.store.get_manifest(manifest_id).state == ManifestState.CREATED
    scheduled(aws, start_deadline_s=0.0)

    with lambdas_in_process(aws.routes):
        counts = recover_handler.handler({"list_landing": False}, context())
        wait_for_executions(aws)
        again = recover_handler.handler({"list_landing": False}, context())

    assert counts["started"] == 1 and again["started"] == 0
    statuses = {e["name"]: e["status"] for e in executions_of(aws, manifest_id)}
    # moto's interpreter ends a stopped execution with the error its running task then raised
    assert statuses.pop(manifest_id) in ("ABORTED", "FAILED")
    assert statuses == {f"{manifest_id}-r1": "SUCCEEDED"}
    assert_succeeded_once(aws, manifest_id, files=2, runs=1)


def test_a_running_manifest_whose_execution_was_stopped_is_requeued_and_redriven_once(aws: Deployment) -> None:
    manifest_id = aws.manifest(files=2)
    start = aws.routes[f"n2p-start-{aws.suffix}"]

    def start_then_stop(event: dict[str, Any], ctx: Any) -> Any:
        start(event, ctx)  # the manifest is RUNNING, owned by this execution
        aws.sfn.stop_execution(executionArn=event["execution_arn"], cause="test: stopped")
        raise RuntimeError("stopped after the start step")

    with lambdas_in_process({**aws.routes, f"n2p-start-{aws.suffix}": start_then_stop}):
        aws.sfn.start_execution(
            stateMachineArn=aws.machine, name=manifest_id, input=json.dumps({"manifest_id": manifest_id})
        )
        wait_for_executions(aws)
    stuck = aws.store.get_manifest(manifest_id)
    assert (stuck.state, stuck.runs) == (ManifestState.RUNNING, 1)
    scheduled(aws)  # the default start deadline: a re-drive starts at once all the same

    with lambdas_in_process(aws.routes):
        counts = recover_handler.handler({"list_landing": False}, context())
        wait_for_executions(aws)
        again = recover_handler.handler({"list_landing": False}, context())

    assert (counts["redriven"], counts["started"], again["started"], again["redriven"]) == (1, 1, 0, 0)
    assert_succeeded_once(aws, manifest_id, files=2, runs=2)


def test_a_manifest_never_started_gets_its_execution_from_the_recover_pass(aws: Deployment) -> None:
    manifest_id = aws.manifest(files=1)  # closed, its start lost
    scheduled(aws, start_deadline_s=0.0)

    with lambdas_in_process(aws.routes):
        counts = recover_handler.handler({"list_landing": False}, context())
        wait_for_executions(aws)

    assert counts["started"] == 1
    assert [e["name"] for e in executions_of(aws, manifest_id)] == [manifest_id]
    assert_succeeded_once(aws, manifest_id, files=1, runs=1)


def test_an_object_whose_event_was_lost_is_registered_by_the_listing_and_converted(aws: Deployment) -> None:
    [key] = put_lost(aws, DATE, 1)  # DATE is past its grace period: what is pending is closed at once
    scheduled(aws, start_deadline_s=3600.0)

    with lambdas_in_process(aws.routes):
        counts = recover_handler.handler({}, context())
        wait_for_executions(aws)
        again = recover_handler.handler({}, context())

    assert (counts["registered"], counts["closed"], counts["started"]) == (1, 1, 1)
    assert (again["registered"], again["closed"], again["started"]) == (0, 0, 0)  # a known version: a no-op
    manifests = [m for m in aws.store.manifests_of("events", DATE) if m.state == ManifestState.SUCCEEDED]
    mine = [m for m in manifests if any(f.uri.endswith(key) for f in aws.store.files_of(m))]
    assert len(mine) == 1
    assert_succeeded_once(aws, mine[0].manifest_id, files=1, runs=1)


def test_the_seal_pass_flushes_a_date_past_grace_then_seals_it_and_a_date_with_a_pending_file_stays_open(
    aws: Deployment,
) -> None:
    past, today = "2026-11-20", time.strftime("%Y-%m-%d", time.gmtime())
    register(aws, past, 2)
    register(aws, today, 1)
    scheduled(aws)
    marker = f"lake/events/date={past}/_SUCCESS"

    with lambdas_in_process(aws.routes):
        first = seal_handler.handler({}, context())  # the flush: the rest of the day closed and started
        wait_for_executions(aws)
        second = seal_handler.handler({}, context())
        third = seal_handler.handler({}, context())

    assert (first["closed"], first["started"]) == (1, 1)
    sealed = {(s.dataset, s.date) for s in aws.store.dates() if s.sealed_at is not None}
    assert ("events", past) in sealed and ("events", today) not in sealed
    assert second["sealed_clean"] >= 1 and third["sealed"] == 0 and third["closed"] == 0
    body = json.loads(aws.s3.get_object(Bucket=aws.bucket, Key=marker)["Body"].read())
    assert (body["dataset"], body["date"], body["files"]) == ("events", past, {"DONE": 2, "REJECTED": 0, "FAILED": 0})
    today_marker = aws.s3.list_objects_v2(Bucket=aws.bucket, Prefix=f"lake/events/date={today}/")
    assert today_marker.get("KeyCount", 0) == 0
    assert [f.state for f in aws.store.pending("events", today, 10).items] == [FileState.PENDING]
