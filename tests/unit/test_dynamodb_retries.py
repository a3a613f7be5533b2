"""DynamoDbStore's retry rules, proven with a scripted fake client (no server, no sleeping)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from ndjson2parquet.backoff import Backoff
from ndjson2parquet.domain.errors import ConditionFailed, StoreUnavailable, Throttled
from ndjson2parquet.state.dynamodb import DynamoDbStore
from ndjson2parquet.state.dynamodb.table import create_table

NO_WAIT = Backoff(base=0.0, cap=0.0, attempts=4)


def error(code: str, **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, **extra}, "Op")


class FakeClient:
    """Answers each operation from a script: an exception is raised, a dict is returned."""

    def __init__(self, **scripts: list[Any]) -> None:
        self.scripts = scripts
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, op: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append((op, kwargs))
            outcome = self.scripts[op].pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        return call

    def count(self, op: str) -> int:
        return sum(1 for name, _ in self.calls if name == op)


def store_with(client: FakeClient) -> DynamoDbStore:
    return DynamoDbStore("t", client=client, backoff=NO_WAIT)


def put(n: int) -> dict[str, Any]:
    return {"PutRequest": {"Item": {"pk": {"S": f"x{n}"}, "sk": {"S": "C#0"}}}}


def test_unprocessed_items_are_written_again_until_none_is_left() -> None:
    client = FakeClient(
        batch_write_item=[
            {"UnprocessedItems": {"t": [put(1), put(2)]}},
            {"UnprocessedItems": {"t": [put(2)]}},
            {"UnprocessedItems": {}},
        ]
    )
    store_with(client).requests.batch_write([put(0), put(1), put(2)])
    sent = [len(kw["RequestItems"]["t"]) for _, kw in client.calls]
    assert sent == [3, 2, 1]


def test_unprocessed_items_that_never_go_through_raise_throttled() -> None:
    client = FakeClient(batch_write_item=[{"UnprocessedItems": {"t": [put(1)]}}] * 4)
    with pytest.raises(Throttled):
        store_with(client).requests.batch_write([put(1)])
    assert client.count("batch_write_item") == NO_WAIT.attempts


def test_unprocessed_keys_of_a_batch_get_are_read_again() -> None:
    key = {"pk": {"S": "F#a"}, "sk": {"S": "F"}}
    client = FakeClient(
        batch_get_item=[
            {"Responses": {"t": []}, "UnprocessedKeys": {"t": {"Keys": [key], "ConsistentRead": True}}},
            {"Responses": {"t": [{**key, "schema": {"S": "x"}}]}},
        ]
    )
    assert len(store_with(client).requests.batch_get([key])) == 1
    assert client.count("batch_get_item") == 2


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError"],
)
def test_throttling_is_retried_with_backoff(code: str) -> None:
    item = {"Item": {"version": {"N": "3"}, "schema": {"S": "{}"}}}
    client = FakeClient(get_item=[error(code), error(code), item])
    assert store_with(client).get_schema("ds") == (3, "{}")
    assert client.count("get_item") == 3


def test_backoff_delays_grow_with_full_jitter() -> None:
    backoff = Backoff(base=0.1, cap=1.0, attempts=5)
    assert [backoff.delay(n, rng=lambda: 1.0) for n in range(5)] == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert backoff.delay(3, rng=lambda: 0.0) == 0.0


def test_throttling_that_persists_is_wrapped_once_as_throttled() -> None:
    client = FakeClient(get_item=[error("ThrottlingException")] * NO_WAIT.attempts)
    with pytest.raises(Throttled) as caught:
        store_with(client).get_schema("ds")
    assert isinstance(caught.value.__cause__, ClientError)
    assert client.count("get_item") == NO_WAIT.attempts


def test_a_conflicting_transaction_is_retried() -> None:
    conflict = error(
        "TransactionCanceledException", CancellationReasons=[{"Code": "TransactionConflict"}, {"Code": "None"}]
    )
    client = FakeClient(transact_write_items=[conflict, {}])
    store_with(client).requests.transact([{"Put": {"Item": {}}}, {"Put": {"Item": {}}}])
    assert client.count("transact_write_items") == 2


def test_a_failed_condition_is_condition_failed_and_not_retried() -> None:
    client = FakeClient(update_item=[error("ConditionalCheckFailedException")])
    with pytest.raises(ConditionFailed):
        store_with(client).put_schema("ds", "{}", 3)
    assert client.count("update_item") == 1


def test_connection_errors_become_store_unavailable() -> None:
    client = FakeClient(get_item=[EndpointConnectionError(endpoint_url="http://x")] * NO_WAIT.attempts)
    with pytest.raises(StoreUnavailable):
        store_with(client).get_schema("ds")


def test_the_table_has_no_index_keyed_on_a_bare_status() -> None:
    client = FakeClient(create_table=[{}], update_time_to_live=[{}])
    create_table(client, "t", wait=False)
    spec = client.calls[0][1]
    assert spec["BillingMode"] == "PAY_PER_REQUEST"
    keys = {k["AttributeName"] for gsi in spec["GlobalSecondaryIndexes"] for k in gsi["KeySchema"]}
    assert keys == {"wpk", "wsk", "lpk", "lsk", "mdk", "msk"}  # sparse composite keys only: no "state" / "status"
    assert client.calls[1][1]["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires_at"}
