"""The recover pass's landing listing with a lookback window: objects modified before it are listed
but never looked up in the store; recent ones (a lost event among them) are; a full pass looks up all."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from ndjson2parquet.aws.config import load_scheduled_settings
from ndjson2parquet.aws.recovery import AwsRecovery, Executions
from ndjson2parquet.config.settings import ConversionOptions
from ndjson2parquet.domain.errors import ConfigError
from ndjson2parquet.domain.records import FileRecord, ObjectInfo
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.storage.base import StoredObject
from ndjson2parquet.storage.local import LocalStorage
from ndjson2parquet.workflow.executor import Layout, ManifestExecutor
from tests.unit.aws.test_scheduled_recovery import ARN, FakeStepFunctions, UnusedEngine

DAY = 86400.0
LOOKBACK = 3 * DAY


class CountingStore(SqliteStore):
    """SQLite, counting the uris registration looks up (each costs DynamoDB two consistent reads)."""

    looked_up: list[str]

    def versions_of(self, uris: Sequence[str], listed: Mapping[str, str] | None = None) -> dict[str, list[FileRecord]]:
        self.looked_up.extend(uris)
        return super().versions_of(uris, listed)


class Landing:
    """A landing prefix as `S3Storage.list` gives it: objects with their LastModified."""

    client = None  # S3Source reads it; the listing goes through `list`

    def __init__(self) -> None:
        self.objects: list[StoredObject] = []

    def put(self, key: str, modified_at: float) -> ObjectInfo:
        url = f"s3://in/landing/{key}"
        self.objects.append(StoredObject(url=url, size=10, modified_at=modified_at, version=f"etag-{key}"))
        return ObjectInfo(url, key, f"etag-{key}", 10, modified_at)

    def list(self, prefix: str) -> Iterator[StoredObject]:
        assert prefix == "s3://in/landing"
        yield from self.objects


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CountingStore]:
    with CountingStore(tmp_path / "state.db") as opened:
        opened.looked_up = []
        yield opened


def recovery(store: SqliteStore, landing: Landing, tmp_path: Path, lookback_s: float) -> AwsRecovery:
    settings = load_scheduled_settings(
        environ={"NDJSON2PARQUET_LISTING_LOOKBACK_SECONDS": str(lookback_s)},
        state="dynamodb://unused",
        lake="s3://lake/out",
        landing="s3://in/landing",
        state_machine_arn=ARN,
    )
    layout = Layout(str(tmp_path / "lake"), str(tmp_path / "q"))
    executor = ManifestExecutor(store, UnusedEngine(), layout, ConversionOptions(), owner="t", storage=LocalStorage())
    return AwsRecovery(store, Executions(FakeStepFunctions(), ARN), settings, executor, landing_storage=landing)


def registered(store: SqliteStore, obj: ObjectInfo, now: float) -> None:
    store.register([FileRecord.new("default", "2026-11-25", obj, now)])


def test_objects_modified_before_the_lookback_cost_no_store_read(store: CountingStore, tmp_path: Path) -> None:
    landing, now = Landing(), time.time()
    for i in range(5):  # registered long ago: what a full landing mostly holds
        registered(store, landing.put(f"2026-11-01/old{i}.ndjson", now - 30 * DAY), now - 30 * DAY)
    recent = landing.put("2026-11-25/recent.ndjson", now - DAY)
    registered(store, recent, now - DAY)

    report = recovery(store, landing, tmp_path, LOOKBACK).run(now)

    assert store.looked_up == [recent.uri]
    assert (report.listed, report.listed_older, report.registered) == (6, 5, 0)
    assert report.errors == []


def test_an_object_whose_event_was_lost_within_the_lookback_is_registered(store: CountingStore, tmp_path: Path) -> None:
    landing, now = Landing(), time.time()
    lost = landing.put("2026-11-25/lost.ndjson", now - 2 * DAY)  # no event, never registered

    report = recovery(store, landing, tmp_path, LOOKBACK).run(now)

    assert report.registered == 1 and report.listed_older == 0
    assert [f.uri for f in store.versions_of([lost.uri]).get(lost.uri, [])] == [lost.uri]


def test_a_full_pass_registers_an_old_unregistered_object(store: CountingStore, tmp_path: Path) -> None:
    landing, now = Landing(), time.time()
    old = landing.put("2026-10-01/old.ndjson", now - 60 * DAY)

    windowed = recovery(store, landing, tmp_path, LOOKBACK)
    assert windowed.run(now).registered == 0  # outside the window: left to a full pass
    assert windowed.run(now, full_listing=True).registered == 1
    assert store.versions_of([old.uri])[old.uri][0].uri == old.uri
    # no lookback at all (unset or 0): every object is looked up, as before
    store.looked_up.clear()
    again = recovery(store, landing, tmp_path, 0).run(now)
    assert store.looked_up == [old.uri] and again.listed_older == 0


def test_the_recover_handler_passes_full_listing_from_its_event() -> None:
    from ndjson2parquet.aws.handlers import recover as recover_handler

    calls: list[dict[str, bool]] = []

    class Recovery:
        def run(self, **kwargs: bool) -> object:
            calls.append(kwargs)
            from ndjson2parquet.aws.recovery import AwsRecoveryReport

            return AwsRecoveryReport()

    class Runtime:
        recovery = Recovery()

    class Metrics:
        def add_metric(self, **_: object) -> None:
            pass

    class Logger:
        def info(self, *_: object, **__: object) -> None:
            pass

        warning = info

    class Obs:
        metrics, logger = Metrics(), Logger()

    for event in ({"list_landing": False}, {}, {"list_landing": True, "full_listing": True}):
        recover_handler.run(event, Runtime(), Obs())  # type: ignore[arg-type]
    assert calls == [
        {"list_landing": False, "full_listing": False},
        {"list_landing": True, "full_listing": False},
        {"list_landing": True, "full_listing": True},
    ]


def test_a_negative_lookback_is_refused() -> None:
    with pytest.raises(ConfigError, match="lookback"):
        load_scheduled_settings(
            environ={"NDJSON2PARQUET_LISTING_LOOKBACK_SECONDS": "-1"},
            state="dynamodb://t",
            lake="s3://l",
            landing="s3://in/landing",
            state_machine_arn=ARN,
        )
