"""The scheduled recovery's decisions (an execution's state → what is done to its manifest) and its pass
over an SQLite store and a fake Step Functions; the seal pass's flush."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ndjson2parquet.aws.config import load_scheduled_settings
from ndjson2parquet.aws.recovery import (
    Action,
    AwsRecovery,
    Executions,
    decide_created,
    decide_running,
    execution_name,
)
from ndjson2parquet.aws.sealing import SealPass
from ndjson2parquet.config.settings import BatchPolicy, ConversionOptions, ScheduledSettings
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult, Engine
from ndjson2parquet.domain.errors import ConfigError
from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.domain.states import FileState, ManifestState
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.storage.local import LocalStorage
from ndjson2parquet.workflow.executor import Layout, ManifestExecutor

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:manifests"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:manifests:"
DATE = "2026-11-25"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (None, Action.START),
        ("RUNNING", Action.LEAVE),
        ("PENDING_REDRIVE", Action.LEAVE),
        ("ABORTED", Action.NEXT_NAME),
        ("FAILED", Action.NEXT_NAME),
        ("TIMED_OUT", Action.NEXT_NAME),
        ("SUCCEEDED", Action.NEXT_NAME),
    ],
)
def test_a_created_manifest_is_started_unless_its_execution_runs_and_a_spent_name_is_passed_over(
    status: str | None, action: Action
) -> None:
    assert decide_created(status) == action


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (None, Action.REDRIVE),  # vanished
        ("ABORTED", Action.REDRIVE),
        ("FAILED", Action.REDRIVE),
        ("TIMED_OUT", Action.REDRIVE),
        ("SUCCEEDED", Action.REDRIVE),  # ended without finishing it
        ("RUNNING", Action.LEAVE),
    ],
)
def test_a_running_manifest_is_redriven_once_its_execution_ended_or_vanished(
    status: str | None, action: Action
) -> None:
    assert decide_running(status) == action


def test_each_run_of_a_manifest_has_its_own_execution_name() -> None:
    assert execution_name("20261125-abc", 0) == "20261125-abc"
    assert execution_name("20261125-abc", 1) == "20261125-abc-r1"
    assert execution_name("20261125-abc", 3) == "20261125-abc-r3"


class FakeStepFunctions:
    """DescribeExecution and StartExecution over a dict of names → statuses."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.started: list[str] = []

    def describe_execution(self, *, executionArn: str) -> dict[str, Any]:
        assert executionArn.startswith(EXECUTION)
        name = executionArn[len(EXECUTION) :]
        if name not in self.status:
            raise _error("ExecutionDoesNotExist")
        return {"status": self.status[name]}

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        if name in self.status:
            raise _error("ExecutionAlreadyExists")
        self.status[name] = "RUNNING"
        self.started.append(name)
        return {"executionArn": EXECUTION + name}


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "op")


class UnusedEngine(Engine):
    def convert(self, job: ConversionJob) -> ConversionResult:
        raise AssertionError("recovery converts nothing")

    def remove_outputs(self, job: ConversionJob) -> None:
        pass


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "state.db") as opened:
        yield opened


def settings(**batch: Any) -> ScheduledSettings:
    return load_scheduled_settings(
        environ={},
        state="dynamodb://unused",
        lake="s3://lake/out",
        landing="s3://in/landing",
        state_machine_arn=ARN,
        batch=BatchPolicy(**batch),
        start_deadline_s=60.0,
    )


def recovery(store: SqliteStore, sfn: FakeStepFunctions, tmp_path: Path, **batch: Any) -> AwsRecovery:
    executor = ManifestExecutor(
        store,
        UnusedEngine(),
        Layout(str(tmp_path / "lake"), str(tmp_path / "q")),
        ConversionOptions(),
        owner="test",
        storage=LocalStorage(),
    )
    return AwsRecovery(store, Executions(sfn, ARN), settings(**batch), executor)


def register(store: SqliteStore, files: int, now: float, date: str = DATE) -> list[FileRecord]:
    records = []
    for i in range(files):
        obj = ObjectInfo(f"s3://in/landing/{date}/f{i}-{now}.ndjson", f"{date}/f{i}.ndjson", "v1", 10, now)
        records.append(FileRecord.new("default", date, obj, now))
    store.register(records)
    return records


def created(store: SqliteStore, now: float) -> str:
    manifest = store.claim(register(store, 2, now), reason="max_files", now=now)
    assert manifest is not None
    return manifest.manifest_id


def test_a_created_manifest_never_started_is_started_once_past_its_deadline(store: SqliteStore, tmp_path: Path) -> None:
    sfn, now = FakeStepFunctions(), time.time()
    manifest_id = created(store, now - 30)
    pass_ = recovery(store, sfn, tmp_path)

    assert pass_.run(now, list_landing=False).started == []  # the intake's start may be under way

    assert pass_.run(now + 60, list_landing=False).started == [manifest_id]
    assert pass_.run(now + 120, list_landing=False).started == []  # its execution runs
    assert sfn.started == [manifest_id]


def test_a_created_manifest_whose_execution_was_stopped_is_started_under_the_next_name(
    store: SqliteStore, tmp_path: Path
) -> None:
    sfn, now = FakeStepFunctions(), time.time()
    manifest_id = created(store, now - 120)
    sfn.status[manifest_id] = "ABORTED"

    report = recovery(store, sfn, tmp_path).run(now, list_landing=False)

    assert report.started == [f"{manifest_id}-r1"]


@pytest.mark.parametrize("status", ["ABORTED", "FAILED", "TIMED_OUT", None])
def test_a_running_manifest_whose_execution_ended_or_vanished_is_requeued_and_redriven(
    store: SqliteStore, tmp_path: Path, status: str | None
) -> None:
    sfn, now = FakeStepFunctions(), time.time()
    manifest_id = created(store, now)
    owner = f"sfn-execution:{EXECUTION}{manifest_id}"
    store.start(manifest_id, owner, now=now)
    store.announce_owner(owner, 1200.0, now=now)  # its owner record outlives the execution
    if status is not None:
        sfn.status[manifest_id] = status

    report = recovery(store, sfn, tmp_path).run(now + 1, list_landing=False)

    assert report.redriven == [manifest_id]
    assert report.started == [f"{manifest_id}-r1"]
    manifest = store.get_manifest(manifest_id)
    assert (manifest.state, manifest.runs, manifest.lease_owner) == (ManifestState.CREATED, 1, None)


def test_a_running_manifest_whose_execution_runs_is_left_alone(store: SqliteStore, tmp_path: Path) -> None:
    sfn, now = FakeStepFunctions(), time.time()
    manifest_id = created(store, now)
    owner = f"sfn-execution:{EXECUTION}{manifest_id}"
    store.start(manifest_id, owner, now=now)
    store.announce_owner(owner, 1200.0, now=now)
    sfn.status[manifest_id] = "RUNNING"

    report = recovery(store, sfn, tmp_path).run(now + 1, list_landing=False)

    assert (report.redriven, report.started) == ([], [])
    assert store.get_manifest(manifest_id).state == ManifestState.RUNNING


def test_files_that_waited_past_max_wait_are_closed_and_started(store: SqliteStore, tmp_path: Path) -> None:
    sfn, now = FakeStepFunctions(), time.time()
    today = time.strftime("%Y-%m-%d", time.gmtime(now))
    register(store, 2, now - 100, date=today)
    pass_ = recovery(store, sfn, tmp_path, max_wait_s=300.0)

    assert pass_.run(now, list_landing=False).closed == []  # not full, not waited long enough

    report = pass_.run(now + 300, list_landing=False)
    [manifest_id] = report.closed
    assert report.started == [manifest_id]
    assert store.get_manifest(manifest_id).reason == "max_wait"


def test_the_flush_closes_and_starts_what_is_left_of_a_date_past_grace_and_it_stays_open(
    store: SqliteStore, tmp_path: Path
) -> None:
    sfn, now = FakeStepFunctions(), time.time()
    register(store, 2, now - 7 * 86400)  # DATE: long past its grace period
    today = time.strftime("%Y-%m-%d", time.gmtime(now))
    register(store, 1, now, date=today)  # within its day: not flushed
    seal = SealPass(store, Executions(sfn, ARN), settings(max_wait_s=10**6), lake_storage=LocalStorage())

    report = seal.run(now)

    [manifest_id] = report.closed
    assert report.started == [manifest_id] == sfn.started
    assert store.get_manifest(manifest_id).reason == "seal"
    assert report.sealed == []  # its files are CLAIMED until the execution commits
    assert [f.state for f in store.pending("default", today, 10).items] == [FileState.PENDING]
    assert seal.run(now).closed == []  # idempotent


def test_scheduled_settings_need_one_state_store_and_a_state_machine() -> None:
    with pytest.raises(ConfigError, match="state machine"):
        load_scheduled_settings(environ={}, state="dynamodb://t", lake="s3://l", landing="s3://in")
    loaded = load_scheduled_settings(
        environ={
            "NDJSON2PARQUET_STATE": "dynamodb://t",
            "NDJSON2PARQUET_LAKE": "s3://l",
            "NDJSON2PARQUET_LANDING": "s3://in/landing",
            "NDJSON2PARQUET_STATE_MACHINE_ARN": ARN,
            "NDJSON2PARQUET_MAX_WAIT_SECONDS": "60",
            "NDJSON2PARQUET_START_DEADLINE_SECONDS": "120",
        }
    )
    assert (loaded.intake.batch.max_wait_s, loaded.start_deadline_s) == (60.0, 120.0)
    assert loaded.intake.state == loaded.aws.state == "dynamodb://t"


def test_a_scheduled_handler_without_settings_fails_terminally_and_never_logs_its_event(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from ndjson2parquet.aws.errors import StepTerminalError
    from ndjson2parquet.aws.handlers import seal as seal_handler

    for name in ("NDJSON2PARQUET_STATE", "NDJSON2PARQUET_LAKE", "NDJSON2PARQUET_LANDING"):
        monkeypatch.delenv(name, raising=False)
    seal_handler.use(None)
    context = LambdaContext()
    context._function_name, context._aws_request_id = "seal", "r1"  # type: ignore[attr-defined]
    context._invoked_function_arn, context._memory_limit_in_mb = "arn:aws:lambda:x", 128  # type: ignore[attr-defined]
    try:
        with pytest.raises(StepTerminalError, match=r"seal: .*dynamodb://TABLE"):
            seal_handler.handler({"secret-bucket-name": "do-not-log"}, context)
    finally:
        seal_handler.use(None)
    assert "do-not-log" not in capsys.readouterr().out


def test_the_flush_of_dates_past_grace_runs_side_by_side(store: SqliteStore, tmp_path: Path) -> None:
    import threading

    from ndjson2parquet.batching.planner import Planner

    both = threading.Barrier(2, timeout=5)  # passed only when two dates are being flushed at once

    class SideBySide(Planner):
        def close_date(self, dataset: str, date: str, *, drain: bool = False, now: float | None = None) -> Any:
            both.wait()
            return super().close_date(dataset, date, drain=drain, now=now)

    sfn, now = FakeStepFunctions(), time.time()
    for date in ("2026-11-01", "2026-11-02"):
        register(store, 2, now - 7 * 86400, date=date)
    config = settings(max_wait_s=10**6)
    seal = SealPass(
        store, Executions(sfn, ARN), config, lake_storage=LocalStorage(), planner=SideBySide(store, config.intake.batch)
    )

    report = seal.run(now)

    assert report.errors == []
    assert len(report.closed) == 2 and sorted(report.started) == sorted(report.closed) == sorted(sfn.started)
    assert [store.get_manifest(m).date for m in report.closed] == ["2026-11-01", "2026-11-02"]  # in date order
