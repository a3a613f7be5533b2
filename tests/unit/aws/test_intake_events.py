"""S3 event notifications, as SQS delivers them, read into the objects registration takes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ndjson2parquet.domain.partitioning import Partitioner
from ndjson2parquet.ingest.events import BadEvent, EventSource, in_order, parse_body

EVENTS = Path(__file__).resolve().parents[2] / "data" / "events"


def sqs_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def events_of(name: str) -> list[Any]:
    return [e for record in sqs_event(name)["Records"] for e in parse_body(record["body"])]


def objects_of(name: str, prefix: str = "landing") -> tuple[EventSource, list[Any]]:
    source = EventSource("landing-bucket", prefix, events_of(name))
    return source, list(source.objects())


def test_a_put_event_gives_the_object_with_its_etag_as_version_and_its_key_below_the_landing_prefix() -> None:
    source, objects = objects_of("sqs_s3_put.json")
    assert len(objects) == 1
    obj = objects[0]
    assert obj.uri == "s3://landing-bucket/landing/2026/11/25/app-0001.ndjson.gz"
    assert obj.key == "2026/11/25/app-0001.ndjson.gz"
    assert obj.version == "9b2cf535f27731c974343645a3985328"
    assert obj.size == 2048
    assert obj.modified_at == pytest.approx(datetime(2026, 11, 25, 10, 15, 30, 123000, tzinfo=UTC).timestamp())
    assert Partitioner().date_from_key(obj.key) == "2026-11-25"
    assert source.taken == objects and source.stats.skipped == 0


def test_the_s3_test_event_is_understood_and_registers_nothing() -> None:
    assert events_of("sqs_s3_test_event.json") == []


def test_url_encoded_keys_are_decoded_plus_as_space_and_percent_escapes() -> None:
    _, objects = objects_of("sqs_s3_url_encoded_key.json")
    assert [o.key for o in objects] == ["date=2026-11-25/my events été +1.jsonl"]
    assert objects[0].version == "d41d8cd98f00b204e9800998ecf8427e-3"  # a multipart upload's ETag
    assert Partitioner().date_from_key(objects[0].key) == "2026-11-25"


def test_versions_of_one_key_come_in_sequencer_order_each_once() -> None:
    events = events_of("sqs_s3_versioned.json")
    assert len(events) == 3  # the older version's event is delivered twice, after the newer one
    newer, older = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", "UIORUnfndfhnw89493jJFJ.0wk2nsd2a"
    assert [e.version_id for e in events] == [newer, older, older]
    _, objects = objects_of("sqs_s3_versioned.json")
    assert [(o.version, o.size) for o in objects] == [("a" * 32, 100), ("b" * 32, 200)]


def test_sequencers_compare_as_hex_numbers_whatever_their_length() -> None:
    [event] = events_of("sqs_s3_put.json")
    shorter = event.__class__(**{**_fields(event), "sequencer": "FF"})
    longer = event.__class__(**{**_fields(event), "sequencer": "0100"})
    assert in_order([longer, shorter]) == [shorter, longer]


def _fields(event: Any) -> dict[str, Any]:
    return {name: getattr(event, name) for name in event.__slots__}


def test_removal_events_register_nothing_and_are_counted() -> None:
    source, objects = objects_of("sqs_s3_removed.json")
    assert objects == []
    assert source.removed == 2
    assert all(e.removed and not e.created for e in events_of("sqs_s3_removed.json"))


def test_keys_that_are_not_inputs_or_lie_outside_the_landing_zone_are_skipped_with_reasons() -> None:
    source, objects = objects_of("sqs_s3_ignored_keys.json")
    assert objects == []
    reasons = {entry["path"].rsplit("/", 1)[-1]: entry["reason"] for entry in source.stats.skipped_named}
    assert reasons == {
        "_SUCCESS": "_-prefixed",
        "report.csv": "not an input extension",
        "part.ndjson": "_-prefixed",  # under landing/_tmp/
        "app.ndjson": "outside the landing zone",
        "old.ndjson": "event ObjectRestore:Completed registers nothing",
    }
    assert source.stats.skipped == 5


def test_an_s3_event_wrapped_by_sns_is_unwrapped() -> None:
    _, objects = objects_of("sqs_sns_s3_put.json")
    assert [(o.key, o.size) for o in objects] == [("2026/11/26/app-0002.json", 512)]


def test_an_empty_landing_prefix_takes_the_whole_bucket() -> None:
    _, objects = objects_of("sqs_s3_put.json", prefix="")
    assert [o.key for o in objects] == ["landing/2026/11/25/app-0001.ndjson.gz"]


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        "[1, 2]",
        '{"hello": "world"}',
        '{"Records": [{"eventSource": "aws:sqs"}]}',
        '{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}',
        '{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": "yesterday",'
        ' "s3": {"bucket": {"name": "b"}, "object": {"key": "k.ndjson"}}}]}',
    ],
)
def test_a_body_that_is_not_an_s3_event_is_a_terminal_bad_event(body: str) -> None:
    with pytest.raises(BadEvent) as caught:
        parse_body(body)
    assert not caught.value.transient


def test_an_event_without_an_etag_is_read_from_s3_and_a_vanished_object_counts_as_removed() -> None:
    class Storage:
        def __init__(self) -> None:
            self.heads: list[str] = []

        def info(self, url: str) -> Any:
            self.heads.append(url)
            return None if url.endswith("gone.ndjson") else _Stored(url, 7, "etag-from-head", 5.0)

    body = {"Records": [_record("landing/2026/11/25/kept.ndjson"), _record("landing/2026/11/25/gone.ndjson")]}
    storage = Storage()
    source = EventSource("landing-bucket", "landing", parse_body(json.dumps(body)), storage=storage)
    objects = list(source.objects())
    assert [(o.key, o.version, o.size) for o in objects] == [("2026/11/25/kept.ndjson", "etag-from-head", 7)]
    assert source.removed == 1 and len(storage.heads) == 2


class _Stored:
    def __init__(self, url: str, size: int, version: str, modified_at: float) -> None:
        self.url, self.size, self.version, self.modified_at = url, size, version, modified_at


def _record(key: str) -> dict[str, Any]:
    return {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "eventTime": "2026-11-25T10:00:00Z",
        "s3": {"bucket": {"name": "landing-bucket"}, "object": {"key": key, "size": 7}},
    }


def test_confirmed_events_register_what_s3_holds_now_so_a_late_event_of_an_old_version_is_stale() -> None:
    class Storage:
        def info(self, url: str) -> Any:
            return _Stored(url, 200, "b" * 32, 7.0)  # the newer version is the current one

    older_only = [e for e in events_of("sqs_s3_versioned.json") if e.etag == "a" * 32]
    source = EventSource("landing-bucket", "landing", older_only, storage=Storage(), confirm=True)
    objects = list(source.objects())
    assert {(o.version, o.size, o.modified_at) for o in objects} == {("b" * 32, 200, 7.0)}
    assert source.stale == 1  # the duplicate of the older event collapsed first


def test_a_confirmed_event_of_an_object_gone_since_registers_nothing() -> None:
    class Storage:
        def info(self, url: str) -> Any:
            return None

    source = EventSource("landing-bucket", "landing", events_of("sqs_s3_put.json"), storage=Storage(), confirm=True)
    assert list(source.objects()) == [] and source.removed == 1
