"""Least privilege, proven: the end-to-end scenario with moto's IAM enforcement on, every part acting
as its own role whose policy is the one ``terraform/modules/iam/policies.tf`` declares.

Each Lambda handler, the Glue job and moto's Step Functions interpreter (the state machine's tasks)
act with their role's assumed credentials (`tests.support.iam_enforcement`). The run must pass with
no request denied (not even one retried away), and every action a role is granted must have been
used, or be listed in `UNUSED` with the reason the run cannot use it.
"""

from __future__ import annotations

import errno
import json
from typing import Any

import pytest

from ndjson2parquet.batching.planner import end_of_day
from ndjson2parquet.conversion.arrow.arrow_engine import ArrowEngine
from ndjson2parquet.domain import clock
from tests.integration.aws.test_end_to_end import (
    DATES,
    GRACE_S,
    FakeClock,
    Putter,
    body_of,
    lake_ids,
    records,
    run_every_fault,
    settle,
)
from tests.support.aws_deployment import AwsDeployment, current_invocation
from tests.support.iam_enforcement import ROLE_OF, LeastPrivilege
from tests.support.moto_server import MotoServer

#: the e2e scenario at an eighth of its volume (every fault still fires): under enforcement every
#: request is signed and checked, and the full 2,000 objects take ~4 min without it
OBJECTS = 250

_KMS = (
    "SSE-KMS with the deployment's key (table, buckets, queues, topic): AWS calls KMS with the caller's "
    "rights; moto encrypts nothing"
)
_LOGS = "the Lambda runtime writes the function's logs with its role; here the handler runs in process"
_DLQ = (
    "the function's dead_letter_config: Lambda sends a failed asynchronous invocation with the role (and "
    "checks it may when the config is set); nothing is invoked asynchronously here"
)
_CHECK = (
    "StateStore: a file transition with nothing left to change, or a guard, rides in a transaction as a "
    "ConditionCheck (state/dynamodb/files.py, writes.py): not met by this role in the runs"
)
_GET = (
    "StateStore: single reads (a date's record, the dataset's schema, an owner record: "
    "state/dynamodb/dates.py, records.py) on paths this role did not take in the runs"
)
_BATCH_GET = (
    "StateStore: file items and manifests read in batches (state/dynamodb/files.py, manifests.py) on "
    "paths this role did not take in the runs"
)
_HEARTBEAT = (
    "the step's Heartbeat (workflow/lease.py) renews the manifest's lease (UpdateItem) and the owner "
    "record (PutItem) every lease_s / 3: the runs' steps end sooner"
)
_MULTIPART = (
    "an object above S3Storage's multipart threshold is uploaded in parts and the upload aborted when it "
    "fails: the runs' objects are small"
)
_GONE_404 = (
    "a landing object deleted since its registration: S3 answers its GET (and the set-aside copy's HEAD) "
    "404 NoSuchKey only to a caller with s3:ListBucket, 403 otherwise; with it the engine rejects the "
    "file as gone (conversion/inputs.py, input_stream.py: ObjectGone), without it the manifest fails on "
    "a configuration error (storage/s3.py map_error). No landing object is deleted mid-run here, and "
    "moto answers 404 without evaluating s3:ListBucket"
)
_RACE = (
    "used in some runs only: which of the intake, recover and seal closes and starts a date's last "
    "manifest depends on timing"
)
_LAMBDA = {"UseKey/kms:Decrypt": _KMS, "UseKey/kms:GenerateDataKey": _KMS, "DeadLetters/sqs:SendMessage": _DLQ}
_LAMBDA |= {"OwnLogGroup/logs:CreateLogStream": _LOGS, "OwnLogGroup/logs:PutLogEvents": _LOGS}
_STEP = {**_LAMBDA, "StateTable/dynamodb:ConditionCheckItem": _CHECK, "WriteLake/s3:AbortMultipartUpload": _MULTIPART}
#: role -> {"<statement sid>/<action>" granted that the runs may leave unused: why}
UNUSED: dict[str, dict[str, str]] = {
    "intake": {
        **_LAMBDA,
        "StateTable/dynamodb:ConditionCheckItem": _CHECK,
        "ListLanding/s3:ListBucket": (
            "an object deleted before its event is handled: its HEAD answers 404 (the event skipped as stale) "
            "only to a caller with s3:ListBucket, 403 otherwise (the message would fail until the DLQ); no "
            "object is deleted before its event here, and moto answers 404 without evaluating it"
        ),
    },
    "start": {
        **_LAMBDA,
        "StateTable/dynamodb:ConditionCheckItem": _CHECK,
        "StateTable/dynamodb:GetItem": _GET,
        "StateTable/dynamodb:BatchGetItem": _BATCH_GET,
    },
    "convert": {
        **_STEP,
        "StateTable/dynamodb:UpdateItem": _HEARTBEAT,
        "ListLanding/s3:ListBucket": _GONE_404,
    },
    "commit": {
        **_STEP,
        "StateTable/dynamodb:GetItem": _GET,
        "KeepTables/glue:GetTable": (
            "the Glue catalog is kept by the commit step only when the deployment has a database (catalog "
            "settings): this deployment has none; tests/integration/aws/test_glue_catalog.py runs it"
        ),
        "KeepTables/glue:CreateTable": "as glue:GetTable",
        "KeepTables/glue:UpdateTable": "as glue:GetTable",
    },
    "compensate": {
        **_LAMBDA,
        "StateTable/dynamodb:ConditionCheckItem": _CHECK,
        "StateTable/dynamodb:PutItem": _HEARTBEAT,
    },
    "put_back": {
        **_LAMBDA,
        "StateTable/dynamodb:ConditionCheckItem": _CHECK,
        "StateTable/dynamodb:PutItem": _HEARTBEAT,
    },
    "recover": {
        **_LAMBDA,
        "StateTable/dynamodb:ConditionCheckItem": _CHECK,
        "StateTable/dynamodb:DeleteItem": (
            "abandoning a claim past its lease (workflow/recovery.py: the manifest item deleted): no intake died "
            "between its claim and its manifest in these runs"
        ),
        "StateTable/dynamodb:BatchWriteItem": (
            "as DeleteItem: the abandoned manifest's file-list chunks are deleted in batches"
        ),
        "WriteLake/s3:DeleteObject": "the embedded recovery removes a requeued manifest's outputs: not in every run",
    },
    "seal": {
        **_LAMBDA,
        "ListLake/s3:ListBucket": (
            "every seal pass HEADs the marker of each unsealed date (workflow/sealing.py remove_marker → "
            "S3Storage.info): AWS answers an absent marker 404 only with s3:ListBucket (403 without, and "
            "the pass fails); moto answers 404 without evaluating it"
        ),
        "WriteLake/s3:DeleteObject": (
            "workflow/sealing.py remove_marker deletes the _SUCCESS marker of a date that is open again (a "
            "file landed after its seal): no file lands in a sealed date in these runs"
        ),
        "StartExecutions/states:StartExecution": _RACE,
        "StateTable/dynamodb:BatchGetItem": _RACE,
        "StateTable/dynamodb:PutItem": _RACE,
    },
    "state_machine": {
        "RunGlueJob/glue:GetJobRuns": (
            "AWS's documented policy for glue:startJobRun.sync (the service's own polling); moto's interpreter "
            "polls GetJobRun only"
        ),
        "RunGlueJob/glue:BatchStopJobRun": (
            "stopping an execution stops its Glue run (glue:startJobRun.sync): no execution is stopped here"
        ),
        "UseKey/kms:Decrypt": "publishing to the KMS-encrypted failure topic: " + _KMS,
        "UseKey/kms:GenerateDataKey": "publishing to the KMS-encrypted failure topic: " + _KMS,
    },
    "glue_job": {
        "StateTable/dynamodb:UpdateItem": _HEARTBEAT,
        "StateTable/dynamodb:ConditionCheckItem": _CHECK,
        "WriteLake/s3:AbortMultipartUpload": _MULTIPART,
        "ListLanding/s3:ListBucket": "as the convert function's: " + _GONE_404,
        "ReadScript/s3:GetObject": (
            "the Glue service loads the job's script with the job's role: here the job's code runs in process"
        ),
        "GlueTemp/s3:GetObject": "Glue's own temporary directory (--TempDir, Spark's shuffle spill): not on moto",
        "GlueTemp/s3:PutObject": "Glue's own temporary directory (--TempDir, Spark's shuffle spill): not on moto",
        "GlueTemp/s3:DeleteObject": "Glue's own temporary directory (--TempDir, Spark's shuffle spill): not on moto",
        "ReadConnection/glue:GetConnection": (
            "the Glue service reads the job's VPC connection to place it in the VPC: no Glue service here"
        ),
        "GlueLogs/logs:CreateLogStream": "Glue's continuous logging writes with the job's role: no Glue service here",
        "GlueLogs/logs:PutLogEvents": "Glue's continuous logging writes with the job's role: no Glue service here",
        "GlueLogs/logs:AssociateKmsKey": (
            "Glue's security configuration encrypts its log group with the key: no Glue service here"
        ),
        "UseKey/kms:Decrypt": _KMS,
        "UseKey/kms:GenerateDataKey": _KMS,
    },
}


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(end_of_day(DATES[-1]) - 3600)  # as the end-to-end test: every date in its grace period
    monkeypatch.setattr(clock, "now", fake.now)
    return fake


def deployment(moto: MotoServer, max_files: int = 50, glue_above_bytes: int | None = None) -> AwsDeployment:
    """The end-to-end test's deployment (its batching, grace period and deadlines)."""
    return AwsDeployment(
        moto,
        max_files=max_files,
        grace_s=GRACE_S,
        max_wait_s=30.0,
        start_deadline_s=5.0,
        max_receive_count=3,
        glue_above_bytes=glue_above_bytes,
    )


class DiskFullOnce:
    """The first conversion in the convert function runs out of local disk (ENOSPC from the Arrow
    engine's own writing, the case the put-back route is for): the manifest is put back (the put_back
    step) and a later execution converts it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fired = 0
        original = ArrowEngine._convert

        def convert(engine: ArrowEngine, *args: Any, **kwargs: Any) -> Any:
            invocation = current_invocation()
            if not self.fired and invocation is not None and invocation.function == "convert":
                self.fired += 1
                raise OSError(errno.ENOSPC, "No space left on device")
            return original(engine, *args, **kwargs)

        monkeypatch.setattr(ArrowEngine, "_convert", convert)


def run_other_routes(aws: AwsDeployment, monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock) -> None:
    """The routes the scenario does not take: manifests above the Glue threshold (``glue_above_bytes``)
    converted by the Glue job, a Lambda convert out of disk space put back, and a converted object grown
    with its event lost (the recover listing registers the continuation)."""
    convert = aws.glue_routes[aws.glue_job]
    # Terraform's variable engine is "arrow" here: Spark in process would need its own S3 wiring;
    # the job's role and its calls to the state table and the buckets are the same either way
    aws.glue_routes[aws.glue_job] = lambda argv: convert([*argv, "--ENGINE", "arrow"])
    disk_full = DiskFullOnce(monkeypatch)
    putter = Putter(aws, bad_every=1000)
    for i in range(10):  # two manifests of five objects of five records: above the threshold
        putter.put(*putter.good(i, DATES[0]))
    for i in range(5):  # one manifest of five one-record objects: below it
        key = f"landing/{DATES[1]}/small-{i}.ndjson"
        rows = records(f"small{i}", 1)
        putter.put(key, body_of(rows))
        putter.book.expected_ids.update(json.loads(r)["id"] for r in rows)
    aws.poller().drain(timeout_s=120)
    settle(aws)
    assert len(aws.glue_runs) == 2 and disk_full.fired
    assert any(name == aws.function_name("put_back") for name, _ in aws.lambda_calls)
    assert lake_ids(aws) == putter.book.expected_ids
    # a converted object grown while S3 sends no event: the recover listing reads its converted prefix
    # (ingest/versions.py Versioner._against) and registers the continuation
    aws.notify_events(False)
    grown = records("grown0", 2)
    putter.put(f"landing/{DATES[1]}/small-0.ndjson", body_of(records("small0", 1) + grown))
    putter.book.expected_ids.update(json.loads(r)["id"] for r in grown)  # the converted line once
    fake_clock.move_to(fake_clock.now() + 120)  # the continuation's manifest waited past max_wait_s
    settle(aws)
    assert lake_ids(aws) == putter.book.expected_ids


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_part_acting_as_its_terraform_role_runs_the_scenario_using_only_and_all_it_is_granted(
    moto: MotoServer, aws_env: dict[str, str], fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    every_fault = LeastPrivilege(moto, deployment(moto))
    with every_fault.enforced() as denials, every_fault.aws as aws:
        run_every_fault(aws, fake_clock, objects=OBJECTS)
    other_routes = LeastPrivilege(moto, deployment(moto, max_files=5, glue_above_bytes=1000))
    with other_routes.enforced() as glue_denials, other_routes.aws as aws:
        run_other_routes(aws, monkeypatch, fake_clock)
    runs = (every_fault, other_routes)
    # nothing denied, not even a request retried away (the server's record and the clients')
    assert denials == glue_denials == [] and [r.recorder.denials() for r in runs] == [[], []]
    missing, unexplained, table = {}, {}, []
    for role in sorted(set(ROLE_OF.values())):
        used = every_fault.recorder.used[role] | other_routes.recorder.used[role]
        # each run's calls against its own policy (the names differ per run)
        grants_used = every_fault.grants_used(role, every_fault.recorder.used[role])
        grants_used |= other_routes.grants_used(role, other_routes.recorder.used[role])
        unused = every_fault.grants(role) - grants_used
        table.append(f"{role}: used {sorted({a for a, _ in used})}; granted, unused {sorted(unused)}")
        if not used or not {a for a, _ in used} <= every_fault.granted(role):  # enforcement proved it already
            missing[role] = sorted({a for a, _ in used} - every_fault.granted(role)) or "took no part"
        reasons = set(UNUSED.get(role, {}))
        if unused - reasons or reasons - every_fault.grants(role):
            unexplained[role] = (
                sorted(unused - reasons),
                "reasons for no grant:",
                sorted(reasons - every_fault.grants(role)),
            )
    print("\n".join(table))  # the README's table (pytest -s)
    assert missing == {} and unexplained == {}, (missing, unexplained)


def test_a_role_without_an_action_it_needs_is_denied_and_its_work_fails(
    moto: MotoServer, aws_env: dict[str, str], fake_clock: FakeClock
) -> None:
    least = LeastPrivilege(moto, deployment(moto), drop=("intake", "dynamodb:UpdateItem"))
    with least.enforced() as denials, least.aws as aws:
        putter = Putter(aws, bad_every=1000)
        uris = []
        for i in range(3):
            key, body = putter.good(i, DATES[0])
            putter.put(key, body)
            uris.append(putter.uri(key))
        poller = aws.poller()
        while poller.poll_once() and poller.stats.reported_failed < len(uris):
            pass
        # every object's message reported failed back to the queue (batchItemFailures), none registered
        assert poller.stats.reported_failed >= len(uris)
        assert all(aws.store.files_by_uri(uri) == [] for uri in uris)
    assert denials and {d["action"] for d in denials} == {"dynamodb:UpdateItem"}
    assert {d["key"] for d in denials} == {least.credentials["intake"]["aws_access_key_id"]}
