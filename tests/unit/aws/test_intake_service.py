"""The intake over an SQLite store and a recording Step Functions client: registration, closing, starts."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ndjson2parquet.aws.intake import ExecutionStarter, Intake, may_be_full
from ndjson2parquet.backoff import Backoff
from ndjson2parquet.config.settings import AwsSettings, BatchPolicy, IntakeSettings
from ndjson2parquet.domain.errors import StoreUnavailable, TerminalError
from ndjson2parquet.domain.records import FileRecord, Manifest
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.ingest.events import parse_body
from ndjson2parquet.state.sqlite import SqliteStore

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:manifests"
NOW = 1_795_000_000.0  # 2026-11-19: the dates below are long past their grace period only where meant
FAST = Backoff(base=0.001, cap=0.01, attempts=4)


class RecordingStepFunctions:
    """Step Functions' StartExecution: names are unique, a failure can be scripted."""

    def __init__(self, failures: Sequence[str] = ()) -> None:
        self.executions: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.failures = list(failures)  # error codes the next calls answer with

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        self.calls += 1
        if self.failures:
            raise _client_error(self.failures.pop(0))
        if name in self.executions:
            raise _client_error("ExecutionAlreadyExists")
        self.executions[name] = {"arn": stateMachineArn, "input": json.loads(input)}
        return {"executionArn": f"{stateMachineArn}:{name}", "startDate": NOW}


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "Start")


def body(*keys: str, size: int = 100, etag: str = "e1", name: str = "ObjectCreated:Put") -> str:
    """An S3 notification naming these keys of the landing bucket."""
    records = [
        {
            "eventSource": "aws:s3",
            "eventName": name,
            "eventTime": "2026-11-19T10:00:00.000Z",
            "s3": {"bucket": {"name": "in"}, "object": {"key": key, "size": size, "eTag": f"{etag}-{key}"}},
        }
        for key in keys
    ]
    return json.dumps({"Records": records})


def messages(**bodies: str) -> dict[str, Any]:
    return {message_id: parse_body(text) for message_id, text in bodies.items()}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "state.db") as opened:
        yield opened


def make_intake(store: Any, sfn: RecordingStepFunctions, **batch: Any) -> Intake:
    settings = IntakeSettings(
        aws=AwsSettings(state="dynamodb://unused", state_machine_arn=ARN),
        landing="s3://in/landing",
        batch=BatchPolicy(**batch),
        confirm_events=False,
    )
    return Intake(store, ExecutionStarter(ARN, client=sfn, backoff=FAST), settings)


def pending(store: SqliteStore, date: str = "2026-11-25") -> list[FileRecord]:
    return store.pending("default", date, 1000).items


def test_each_object_version_is_registered_once_however_often_its_event_comes(store: SqliteStore) -> None:
    intake = make_intake(store, RecordingStepFunctions())
    batch = messages(
        m1=body("landing/2026/11/25/a.ndjson"),
        m2=body("landing/2026/11/25/a.ndjson", "landing/2026/11/25/b.ndjson"),  # a repeated event
    )
    first = intake.handle(batch, now=NOW)
    again = intake.handle(batch, now=NOW + 1)  # the whole batch delivered again
    assert (first.registered, first.failed) == (2, [])
    assert (again.registered, again.duplicates, again.failed) == (0, 2, [])
    assert sorted(r.uri for r in pending(store)) == [
        "s3://in/landing/2026/11/25/a.ndjson",
        "s3://in/landing/2026/11/25/b.ndjson",
    ]


def test_a_new_version_of_a_key_is_registered_beside_the_old_one(store: SqliteStore) -> None:
    intake = make_intake(store, RecordingStepFunctions())
    intake.handle(messages(m1=body("landing/2026/11/25/a.ndjson", etag="v1")), now=NOW)
    result = intake.handle(messages(m2=body("landing/2026/11/25/a.ndjson", etag="v2")), now=NOW + 1)
    assert result.registered == 1
    versions = store.files_by_uri("s3://in/landing/2026/11/25/a.ndjson")
    # the never-converted older version is superseded by the newer, as a listing would do it
    assert sorted((v.version, v.state) for v in versions) == [
        ("v1-landing/2026/11/25/a.ndjson", FileState.REJECTED),
        ("v2-landing/2026/11/25/a.ndjson", FileState.PENDING),
    ]


def test_a_full_manifest_is_closed_and_started_once_named_by_its_id(store: SqliteStore) -> None:
    sfn = RecordingStepFunctions()
    intake = make_intake(store, sfn, max_files=3)
    keys = [f"landing/2026/11/25/f{i}.ndjson" for i in range(4)]
    result = intake.handle(messages(m1=body(*keys[:2]), m2=body(*keys[2:])), now=NOW)
    assert (result.manifests_closed, result.executions_started) == (1, 1)
    [(name, execution)] = sfn.executions.items()
    manifest = store.get_manifest(name)
    assert manifest.state == ManifestState.CREATED and len(manifest.file_ids) == 3
    assert execution["arn"] == ARN
    assert execution["input"] == {"manifest_id": name}
    assert (manifest.reason, manifest.bytes) == ("max_files", 300)
    assert len(pending(store)) == 1  # the fourth waits for more


def test_an_execution_that_exists_already_is_success_and_throttling_is_retried(store: SqliteStore) -> None:
    sfn = RecordingStepFunctions(failures=["ThrottlingException", "ThrottlingException"])
    intake = make_intake(store, sfn, max_files=2)
    intake.handle(messages(m1=body("landing/2026/11/25/a.ndjson", "landing/2026/11/25/b.ndjson")), now=NOW)
    [name] = sfn.executions
    starter = ExecutionStarter(ARN, client=sfn, backoff=FAST)
    assert starter.start(store.get_manifest(name)) is False  # a retried start: no error, no second execution
    assert sfn.calls == 4 and len(sfn.executions) == 1


def test_a_start_that_keeps_failing_fails_the_messages_of_its_date_and_their_redelivery_starts_it(
    store: SqliteStore,
) -> None:
    sfn = RecordingStepFunctions(failures=["ServiceUnavailable"] * FAST.attempts)
    intake = make_intake(store, sfn, max_files=2)
    batch = messages(
        m1=body("landing/2026/11/25/a.ndjson", "landing/2026/11/25/b.ndjson"),
        m2=body("landing/2026/11/26/c.ndjson"),  # another date: unaffected
    )
    result = intake.handle(batch, now=NOW)
    assert result.failed == ["m1"] and result.executions_started == 0
    [manifest] = store.manifests_of("default", "2026-11-25")
    assert manifest.state == ManifestState.CREATED  # claimed, never started
    retried = intake.handle({"m1": batch["m1"]}, now=NOW + 60, redelivered={"m1"})
    assert (retried.failed, retried.executions_started) == ([], 1)
    assert list(sfn.executions) == [manifest.manifest_id]


def test_a_message_whose_registration_fails_fails_alone(tmp_path: Path) -> None:
    class Flaky(SqliteStore):
        def _insert_files(self, records: Sequence[FileRecord]) -> list[FileRecord]:
            if any("poison" in r.uri for r in records):
                raise StoreUnavailable("this item cannot be written")
            return super()._insert_files(records)

    with Flaky(tmp_path / "state.db") as store:
        intake = make_intake(store, RecordingStepFunctions())
        result = intake.handle(
            messages(
                good=body("landing/2026/11/25/a.ndjson"),
                bad=body("landing/2026/11/25/poison.ndjson"),
                other=body("landing/2026/11/25/b.ndjson"),
            ),
            now=NOW,
        )
        assert result.failed == ["bad"] and "StoreUnavailable" in result.errors[0]
        assert result.registered == 2 and len(pending(store)) == 2


def test_a_date_is_planned_only_when_a_manifest_may_be_full() -> None:
    policy = BatchPolicy(max_files=10, target_bytes=1000, grace_period_s=3600)
    today = "2026-11-19"
    assert not may_be_full(0, 500.0, today, policy, NOW)
    assert not may_be_full(9, 100.0, today, policy, NOW)
    assert may_be_full(10, 1.0, today, policy, NOW)  # max_files
    assert may_be_full(4, 250.0, today, policy, NOW)  # about target_bytes
    assert may_be_full(1, 1.0, "2026-11-17", policy, NOW)  # past the grace period: flush what there is


def test_a_few_small_files_close_nothing_and_a_date_past_its_grace_period_is_flushed(store: SqliteStore) -> None:
    sfn = RecordingStepFunctions()
    intake = make_intake(store, sfn, max_files=10)
    small = intake.handle(messages(m1=body("landing/2026/11/25/a.ndjson")), now=NOW)
    late = intake.handle(messages(m2=body("landing/2026/11/02/old.ndjson")), now=NOW)
    assert small.manifests_closed == 0 and len(pending(store)) == 1
    assert late.manifests_closed == 1
    [name] = sfn.executions
    assert (store.get_manifest(name).date, store.get_manifest(name).reason) == ("2026-11-02", "seal")


def test_removals_and_ignored_keys_register_nothing(store: SqliteStore) -> None:
    intake = make_intake(store, RecordingStepFunctions())
    result = intake.handle(
        messages(
            gone=body("landing/2026/11/25/a.ndjson", name="ObjectRemoved:Delete"),
            ignored=body("landing/2026/11/25/_SUCCESS", "other/2026/11/25/x.ndjson"),
        ),
        now=NOW,
    )
    assert (result.registered, result.removed, result.skipped, result.failed) == (0, 1, 2, [])
    assert store.date_status("default", "2026-11-25") is None


def test_a_start_refused_for_good_is_terminal_and_tried_once() -> None:
    sfn = RecordingStepFunctions(failures=["StateMachineDoesNotExist"] * 9)
    manifest = Manifest("20261125-1-ab", "default", "2026-11-25", (), 0, ManifestState.CREATED, NOW, NOW, "max_files")
    with pytest.raises(TerminalError, match="StateMachineDoesNotExist"):
        ExecutionStarter(ARN, client=sfn, backoff=FAST).start(manifest)
    assert sfn.calls == 1


def test_a_claim_lost_to_a_racing_claimer_is_counted_and_the_files_still_close_once(tmp_path: Path) -> None:
    class Raced(SqliteStore):
        """Another claimer takes the first candidate's first file just before this claim."""

        races = 1

        def claim(self, files: Sequence[FileRecord], reason: str, now: float | None = None) -> Manifest | None:
            if self.races:
                self.races -= 1
                assert super().claim(files[:1], "max_files", now=now) is not None  # the other claimer's
                return super().claim(files, reason, now=now)  # ours: one file is taken, all or none
            return super().claim(files, reason, now=now)

    with Raced(tmp_path / "state.db") as store:
        sfn = RecordingStepFunctions()
        keys = [f"landing/2026/11/25/f{i}.ndjson" for i in range(3)]
        result = make_intake(store, sfn, max_files=2).handle(messages(m1=body(*keys)), now=NOW)
        assert (result.claim_conflicts, result.manifests_closed, result.failed) == (1, 1, [])
        closed = list(store.manifests_of("default", "2026-11-25"))
        assert sorted(len(m.file_ids) for m in closed) == [1, 2]  # the racer's and ours: each file once
