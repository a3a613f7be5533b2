"""The step handlers as Lambda entry points: errors the state machine can tell apart, logs without
events, EMF metrics, clients built only when needed."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from ndjson2parquet.aws.errors import StepTerminalError, StepTransientError
from ndjson2parquet.aws.handlers.steps import StepHandlers
from ndjson2parquet.aws.observability import observability
from ndjson2parquet.aws.runtime import AwsClients, StepRuntime
from ndjson2parquet.config import env
from ndjson2parquet.config.settings import AwsSettings
from ndjson2parquet.domain.errors import StoreUnavailable
from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.domain.states import ManifestState
from ndjson2parquet.state.sqlite import SqliteStore
from tests.support.moto_aws import LambdaContext

SECRET = "s3://private-bucket/customer-42/keys.ndjson"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:n2p:m1"


class NoClients(AwsClients):
    """Fails the test if a handler builds an SDK client it was not handed."""

    def get(self, service: str) -> Any:
        raise AssertionError(f"a {service} client was built")


def handlers(tmp_path: Path, store: SqliteStore | None = None, level: str = "INFO") -> StepHandlers:
    settings = AwsSettings(state="dynamodb://t", lake="s3://lake-bucket/lake", owner_ttl_s=60.0, log_level=level)
    runtime = StepRuntime(settings, NoClients())
    if store is not None:
        runtime.__dict__["store"] = store  # the state store, injected (cached_property)
        runtime.__dict__["engine"] = object()  # never used by start
        runtime.__dict__["storage"] = object()
    # a service of its own: Powertools keeps one Logger (and its output stream) per service name
    service = f"n2p-test-{uuid.uuid4().hex[:8]}"
    return StepHandlers(settings=settings, runtime=runtime, obs=observability(service, "n2p-test", level))


def context() -> LambdaContext:
    return LambdaContext("n2p-start", "arn:aws:lambda:us-east-1:123456789012:function:n2p-start", 256, "req-1")


def claimed_manifest(store: SqliteStore) -> str:
    now = time.time()
    record = FileRecord.new("events", "2026-11-25", ObjectInfo(SECRET, "k", "v1", 10, now), now)
    store.register([record])
    manifest = store.claim([record], reason="max_files")
    assert manifest is not None
    return manifest.manifest_id


def test_start_makes_the_execution_the_manifests_owner(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    manifest_id = claimed_manifest(store)

    doc = handlers(tmp_path, store).invoke("start", {"manifest_id": manifest_id, "execution_arn": EXECUTION}, context())

    assert (doc["state"], doc["next"], doc["manifest_bytes"]) == ("RUNNING", "convert", 10)
    manifest = store.get_manifest(manifest_id)
    assert (manifest.state, manifest.lease_owner) == (ManifestState.RUNNING, f"sfn-execution:{EXECUTION}")
    assert store.owner_alive(f"sfn-execution:{EXECUTION}")


def test_the_event_is_never_logged_even_at_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")  # the handler's explicit choice beats it
    store = SqliteStore(tmp_path / "state.db")
    manifest_id = claimed_manifest(store)
    event = {"manifest_id": manifest_id, "execution_arn": EXECUTION, "detail": SECRET}

    handlers(tmp_path, store, level="DEBUG").invoke("start", event, context())

    out = capsys.readouterr().out
    assert "manifest started" in out  # the package's logs go through Powertools' JSON logger
    assert SECRET not in out and "private-bucket" not in out


def test_metrics_are_written_in_embedded_metric_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = SqliteStore(tmp_path / "state.db")
    manifest_id = claimed_manifest(store)

    handlers(tmp_path, store).invoke("start", {"manifest_id": manifest_id, "execution_arn": EXECUTION}, context())

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    [metrics] = emf
    names = {m["Name"] for m in metrics["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"StepInvocations", "ManifestBytes", "ManifestFiles"} <= names
    assert (metrics["step"], metrics["ManifestBytes"]) == ("start", [10.0])


def test_a_document_that_is_not_ours_is_a_terminal_step_error(tmp_path: Path) -> None:
    with pytest.raises(StepTerminalError, match=r"ndjson2parquet\.step/1"):
        handlers(tmp_path).invoke("convert", {"format": "something else"}, context())


def test_a_start_event_without_its_execution_is_a_terminal_step_error(tmp_path: Path) -> None:
    with pytest.raises(StepTerminalError, match="execution_arn"):
        handlers(tmp_path).invoke("start", {"manifest_id": "m1"}, context())


def test_a_busy_state_store_is_a_transient_step_error(tmp_path: Path) -> None:
    class BusyStore(SqliteStore):
        def announce_owner(self, owner: str, ttl_s: float, now: float | None = None) -> None:
            raise StoreUnavailable("table busy")

    store = BusyStore(tmp_path / "state.db")
    manifest_id = claimed_manifest(store)
    with pytest.raises(StepTransientError, match="table busy") as caught:
        handlers(tmp_path, store).invoke("start", {"manifest_id": manifest_id, "execution_arn": EXECUTION}, context())
    assert isinstance(caught.value.__cause__, StoreUnavailable)
    assert store.get_manifest(manifest_id).state == ManifestState.CREATED


def test_clients_are_built_on_first_use_and_injected_ones_are_used() -> None:
    injected = object()
    clients = AwsClients(dynamodb=injected)
    assert clients.get("dynamodb") is injected
    assert "s3" not in clients._clients  # nothing else was built


def test_missing_settings_are_a_terminal_step_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (env.STATE, env.LAKE):
        monkeypatch.delenv(name, raising=False)
    bare = StepHandlers(clients=NoClients(), obs=observability(f"n2p-test-{uuid.uuid4().hex[:8]}", "n2p-test", "INFO"))
    with pytest.raises(StepTerminalError, match="dynamodb://TABLE"):
        bare.invoke("start", {"manifest_id": "m1", "execution_arn": EXECUTION}, context())
