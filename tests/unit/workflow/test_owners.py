"""Lease owners: typed, stored as the `lease_owner` string (older tokens still read), and alive as
their record in the state store says, not as a process on this host looks."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from ndjson2parquet.config.settings import BatchPolicy, RunOptions, StorePolicy
from ndjson2parquet.conversion.engine import ConversionJob, ConversionResult
from ndjson2parquet.domain.states import ManifestState
from ndjson2parquet.ingest.registration import ingest
from ndjson2parquet.ingest.sources import LocalSource
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.workflow.executor import Layout
from ndjson2parquet.workflow.lease import Owner, OwnerKind, OwnerPresence, owner_alive
from ndjson2parquet.workflow.pipeline import Pipeline
from ndjson2parquet.workflow.recovery import recover
from tests.support.fake_engine import FakeEngine

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("owner", "kind", "text"),
    [
        (
            Owner.sfn_execution("arn:aws:states:eu-west-1:1:execution:sm:x"),
            OwnerKind.SFN_EXECUTION,
            "sfn-execution:arn:aws:states:eu-west-1:1:execution:sm:x",
        ),
        (Owner.glue_run("convert-job", "jr_0123"), OwnerKind.GLUE_RUN, "glue-run:convert-job:jr_0123"),
        (Owner(OwnerKind.PROCESS, "host:42:beef"), OwnerKind.PROCESS, "process:host:42:beef"),
    ],
)
def test_an_owner_is_stored_as_its_kind_and_id_and_read_back(owner: Owner, kind: OwnerKind, text: str) -> None:
    assert owner.kind == kind and str(owner) == text and Owner.parse(text) == owner


def test_an_older_host_pid_start_token_reads_as_a_legacy_process_owner_and_is_written_back_unchanged() -> None:
    owner = Owner.parse("build-host-7:12345:1764590000000")
    assert owner.kind == OwnerKind.PROCESS and owner.legacy
    assert str(owner) == "build-host-7:12345:1764590000000"


def test_two_pipelines_of_one_process_are_two_owners() -> None:
    assert Owner.process() != Owner.process()


def _store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "state.db", policy=StorePolicy(lease_s=900.0))


def test_an_owner_is_alive_while_its_record_lives_and_a_legacy_one_is_unknown(tmp_path: Path) -> None:
    store = _store(tmp_path)
    owner = str(Owner.glue_run("job", "jr_1"))
    assert owner_alive(store, owner, now=NOW) is False  # never announced
    store.announce_owner(owner, 30.0, now=NOW)
    assert owner_alive(store, owner, now=NOW + 29) is True
    assert owner_alive(store, owner, now=NOW + 31) is False  # not renewed: gone
    assert owner_alive(store, "some-host:1:2", now=NOW) is None  # only its lease can tell
    assert owner_alive(store, None) is False


def _running(tmp_path: Path, owner: str, store: SqliteStore) -> Pipeline:
    folder = tmp_path / "in" / "2026-11-20"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "f.ndjson").write_bytes(b'{"a": 1}\n')
    options = RunOptions(batch=BatchPolicy(max_files=5), store=store.policy, settle_s=0)
    pipeline = Pipeline(store, FakeEngine(), Layout(str(tmp_path / "lake"), str(tmp_path / "q")), options)
    ingest(LocalSource(tmp_path / "in"), store, options.partitioner)
    (claim,) = pipeline.planner.close_ready(drain=True)
    store.start(claim.manifest.manifest_id, owner, now=NOW)
    return pipeline


@pytest.mark.parametrize(
    ("owner", "announced_at", "at", "requeued"),
    [
        ("sfn-execution:arn:x", NOW, NOW + 10, False),  # alive, lease running: left alone
        ("sfn-execution:arn:x", NOW, NOW + 60, True),  # its record expired (30 s): requeued
        ("glue-run:job:jr_9", None, NOW + 10, True),  # never announced (or retired): requeued
        ("old-host:77:1764590000000", None, NOW + 10, False),  # legacy: its lease decides…
        ("old-host:77:1764590000000", None, NOW + 901, True),  # …and it expired
        ("process:h:1:a", NOW + 500, NOW + 901, True),  # alive, but its lease was not renewed: requeued
    ],
)
def test_recovery_requeues_a_running_manifest_whose_lease_expired_or_whose_owner_is_not_alive(
    tmp_path: Path, owner: str, announced_at: float | None, at: float, requeued: bool
) -> None:
    store = _store(tmp_path)
    pipeline = _running(tmp_path, owner, store)
    if announced_at is not None:
        store.announce_owner(owner, 30.0 if announced_at == NOW else 1000.0, now=announced_at)
    report = recover(store, pipeline.executor, now=at)
    assert bool(report.requeued) == requeued
    (manifest,) = [m for m in store.live_manifests()]
    assert manifest.state == (ManifestState.CREATED if requeued else ManifestState.RUNNING)


def test_a_run_is_alive_in_the_store_while_it_converts_and_retires_its_owner_at_a_clean_exit(tmp_path: Path) -> None:
    store = _store(tmp_path)
    alive_while_converting: list[bool] = []

    class Watching(FakeEngine):
        def convert(self, job: ConversionJob) -> ConversionResult:
            alive_while_converting.append(store.owner_alive(pipeline.owner))
            return super().convert(job)

    folder = tmp_path / "in" / "2026-11-20"
    folder.mkdir(parents=True)
    (folder / "f.ndjson").write_bytes(orjson.dumps({"a": 1}) + b"\n")
    options = RunOptions(batch=BatchPolicy(max_files=5), store=store.policy, settle_s=0)
    pipeline = Pipeline(store, Watching(), Layout(str(tmp_path / "lake"), str(tmp_path / "q")), options)
    assert pipeline.owner.startswith("process:")
    pipeline.run(LocalSource(tmp_path / "in"))
    assert alive_while_converting == [True]
    assert not store.owner_alive(pipeline.owner)  # retired, not left to expire


def test_presence_blocks_nest_and_only_the_outermost_retires_the_owner(tmp_path: Path) -> None:
    store = _store(tmp_path)
    presence = OwnerPresence(store, "process:h:1:nest", ttl_s=600.0)
    with presence:
        with presence:
            assert store.owner_alive("process:h:1:nest")
        assert store.owner_alive("process:h:1:nest")
    assert not store.owner_alive("process:h:1:nest")


def test_an_embedded_owner_lives_as_long_as_the_store_policy_says(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db", policy=StorePolicy(owner_ttl_s=2.0))
    with OwnerPresence(store, "process:h:1:ttl", store.policy.owner_ttl_s):
        assert store.owner_alive("process:h:1:ttl", now=time.time() + 1.0)
        assert not store.owner_alive("process:h:1:ttl", now=time.time() + 60.0)
