"""Storing a manifest's schema: conditional on the version it converted against, merged when compatible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ndjson2parquet.domain.errors import ConfigError
from ndjson2parquet.state.sqlite import SqliteStore
from ndjson2parquet.workflow.schema_sync import (
    disagreeing,
    lake_schema_path,
    merged,
    publish_lake_schema,
    store_schema,
)


def schema(**fields: object) -> str:
    return json.dumps(
        {"format": "ndjson2parquet.schema/1", "fields": [{"name": n, "type": t} for n, t in fields.items()]},
        separators=(",", ":"),
    )


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = SqliteStore(tmp_path / "state.db")
    yield store
    store.close()


def test_merging_keeps_the_types_of_new_columns_and_nested_fields() -> None:
    stored = schema(a="int64", u={"struct": [{"name": "x", "type": "string"}]})
    ours = schema(a="int64", u={"struct": [{"name": "y", "type": "bool"}]}, b="string")
    assert json.loads(merged(stored, ours))["fields"] == [
        {"name": "a", "type": "int64"},
        {"name": "u", "type": {"struct": [{"name": "x", "type": "string"}, {"name": "y", "type": "bool"}]}},
        {"name": "b", "type": "string"},
    ]


def test_parts_agree_unless_a_column_took_another_type() -> None:
    assert not disagreeing(schema(a="int64"), schema(a="int64", b="string"))
    assert not disagreeing(schema(a="null", b="string"), schema(a="bool", b="string"))  # untyped: not in parts
    assert disagreeing(schema(a="int64"), schema(a="string"))
    assert disagreeing(schema(a="int64"), schema(a="float64"))
    assert not disagreeing(schema(a="int64"), schema(a="float64"), widen=True)


def test_a_first_schema_is_stored_and_a_compatible_one_merged_into_a_newer_version(store: SqliteStore) -> None:
    assert store_schema(store, "d", schema(a="int64"), 0) is None
    assert store_schema(store, "d", schema(b="string"), 0) is None  # converted against nothing, compatible
    assert store.get_schema("d") == (2, schema(a="int64", b="string"))


def test_a_manifest_at_odds_with_a_newer_stored_schema_is_sent_back_to_convert(store: SqliteStore) -> None:
    store_schema(store, "d", schema(id="string"), 0)
    assert store_schema(store, "d", schema(id="int64", more="bool"), 0) == (1, schema(id="string"))
    assert store.get_schema("d") == (1, schema(id="string"))  # nothing of the loser's is stored


def test_disagreeing_with_the_version_it_converted_against_is_a_config_error(store: SqliteStore) -> None:
    store_schema(store, "d", schema(id="string"), 0)
    with pytest.raises(ConfigError, match="columns id of d: types disagree with its stored schema"):
        store_schema(store, "d", schema(id="int64"), 1)  # a schema file fixing id against the stored type


def test_the_lake_schema_file_never_goes_back_to_an_older_version(tmp_path: Path) -> None:
    publish_lake_schema(str(tmp_path), "d", 3, schema(a="int64", b="string"))
    publish_lake_schema(str(tmp_path), "d", 2, schema(a="int64"))  # a slower committer of an older version
    document = json.loads(lake_schema_path(str(tmp_path), "d").read_text())
    assert document["version"] == 3 and [f["name"] for f in document["fields"]] == ["a", "b"]
    publish_lake_schema(str(tmp_path), "d", 4, schema(a="int64", b="string", c="bool"))
    assert json.loads(lake_schema_path(str(tmp_path), "d").read_text())["version"] == 4


def test_concurrent_writers_of_the_lake_schema_never_trip_on_each_other(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import threading

    errors: list[BaseException] = []

    def write(version: int) -> None:
        try:
            for _ in range(20):
                publish_lake_schema(str(tmp_path), "d", version, schema(a="int64"))
                (tmp_path / "_schemas" / "d.json").unlink(missing_ok=True)  # every round writes
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(v,)) for v in (1, 1, 2, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and "not written" not in caplog.text
    assert not list((tmp_path / "_schemas").glob("*.tmp"))


def test_a_killed_writers_temp_file_is_removed_by_a_later_writer(tmp_path: Path) -> None:
    import os

    stale = tmp_path / "_schemas" / ".d.json.dead.tmp"
    stale.parent.mkdir()
    stale.write_text("{")
    os.utime(stale, (0, 0))
    publish_lake_schema(str(tmp_path), "d", 1, schema(a="int64"))
    assert [p.name for p in (tmp_path / "_schemas").iterdir()] == ["d.json"]
