"""Owner records: whoever holds a lease (a process, an execution, a job run) says how long it lives."""

from __future__ import annotations

import pytest

from ndjson2parquet.domain.errors import InvalidTransition
from ndjson2parquet.state.base import StateStore
from ndjson2parquet.state.dynamodb import DynamoDbStore
from ndjson2parquet.state.dynamodb.table import TTL_ATTRIBUTE, create_table
from tests.support.moto_server import MotoServer

from .conftest import DATASET, DATE, StoreFactory, records


def test_an_unknown_owner_is_not_alive(store: StateStore) -> None:
    assert not store.owner_alive("proc-1", now=1_000.0)


def test_an_announced_owner_is_alive_until_its_ttl_runs_out(store: StateStore) -> None:
    store.announce_owner("proc-1", 30.0, now=1_000.0)
    assert store.owner_alive("proc-1", now=1_000.0)
    assert store.owner_alive("proc-1", now=1_029.9)
    assert not store.owner_alive("proc-1", now=1_030.0)  # alive_until > now, strictly
    assert not store.owner_alive("proc-2", now=1_000.0)


def test_announcing_again_renews_the_record(store: StateStore) -> None:
    store.announce_owner("exec-1", 30.0, now=1_000.0)
    store.announce_owner("exec-1", 30.0, now=1_020.0)
    assert store.owner_alive("exec-1", now=1_045.0)
    assert not store.owner_alive("exec-1", now=1_050.0)


def test_a_renewal_may_also_shorten_the_life(store: StateStore) -> None:
    store.announce_owner("exec-1", 300.0, now=1_000.0)
    store.announce_owner("exec-1", 5.0, now=1_000.0)
    assert not store.owner_alive("exec-1", now=1_010.0)


def test_a_retired_owner_is_dead_and_retiring_twice_is_fine(store: StateStore) -> None:
    store.announce_owner("job-run-7", 60.0, now=1_000.0)
    store.retire_owner("job-run-7")
    assert not store.owner_alive("job-run-7", now=1_000.0)
    store.retire_owner("job-run-7")
    store.retire_owner("never-announced")


def test_owners_are_seen_by_every_store_on_the_same_database(store_factory: StoreFactory) -> None:
    writer, reader = store_factory(), store_factory()
    writer.announce_owner("arn:aws:states:eu-west-1:1:execution:m:x", 60.0, now=1_000.0)
    assert reader.owner_alive("arn:aws:states:eu-west-1:1:execution:m:x", now=1_001.0)


def test_owner_records_never_show_in_files_manifests_dates_or_counts(store: StateStore) -> None:
    store.register(records(2))
    before = (list(store.dates()), store.counts(), list(store.live_manifests()))
    for n in range(5):
        store.announce_owner(f"proc-{n}", 60.0, now=1_000.0)
    assert (list(store.dates()), store.counts(), list(store.live_manifests())) == before
    assert [r.uri for r in store.pending(DATASET, DATE, 10).items] == [r.uri for r in records(2)]


@pytest.mark.parametrize("ttl", [0.0, -1.0])
def test_an_owner_needs_a_positive_ttl(store: StateStore, ttl: float) -> None:
    with pytest.raises(InvalidTransition):
        store.announce_owner("proc-1", ttl, now=1_000.0)


def test_an_owner_needs_a_name(store: StateStore) -> None:
    with pytest.raises(InvalidTransition):
        store.announce_owner("", 10.0, now=1_000.0)


def test_a_dynamodb_owner_record_carries_the_ttl_attribute_past_its_life(moto: MotoServer) -> None:
    client = moto.client("dynamodb")
    create_table(client, "owners-ttl")
    store = DynamoDbStore("owners-ttl", client=client)
    try:
        store.announce_owner("proc-1", 30.0, now=1_000.5)
        item = client.get_item(TableName="owners-ttl", Key={"pk": {"S": "O#proc-1"}, "sk": {"S": "O"}})["Item"]
        assert float(item["alive_until"]["N"]) == 1_030.5
        assert int(item[TTL_ATTRIBUTE]["N"]) >= 1_031
        ttl = client.describe_time_to_live(TableName="owners-ttl")["TimeToLiveDescription"]
        assert ttl["AttributeName"] == TTL_ATTRIBUTE
    finally:
        store.close()
