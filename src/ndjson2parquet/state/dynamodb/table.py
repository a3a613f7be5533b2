"""The DynamoDB table behind `DynamoDbStore`: its key layout, its creation, and attribute coding.

One table, generic `pk`/`sk` keys (`key`). Item kinds (pk / sk):

| item | pk | sk | notes |
|---|---|---|---|
| file | `F#<file_id>` | `F` | sparse `wpk`/`wsk` only while PENDING, FAILED, REJECTED or CHANGED |
| uri index | `U#<uri>` | `U` | `ids`: the uri's versions (string set), `latest`: the newest; BatchGet by chunk |
| manifest | `M#<manifest_id>` | `M` | sparse `lpk`/`lsk` only while unsettled; `mdk`/`msk` always |
| manifest file list | `M#<manifest_id>` | `C#<n>` | only for manifests too big to hold their ids inline |
| date | `D#<dataset>` | `<date>` | seal and late count; `_query_dates` is a Query |
| dataset | `DS` | `<dataset>` | the dataset registry |
| date counter | `C#<dataset>#<date>` | `<shard>` | `n_<STATE>`: exact file counts, sharded against hot items |
| global counter | `COUNT` | `<shard>` | `f_<STATE>` and `m_<STATE>` |
| schema | `S#<dataset>` | `S` | `version`, `schema` |
| owner | `O#<owner>` | `O` | `alive_until`; `expires_at` (TTL) drops it an hour after it died |

Three GSIs, all on sparse keys (finding §6.2: never a GSI on a bare, low-cardinality status):
`waiting` on (`wpk` = `<STATE>#<dataset>#<date>#<shard>`, `wsk` = `<registered_at>#<file_id>`),
`live` on (`lpk` = `LIVE#<shard>`, `lsk` = `<created_at>#<manifest_id>`), and `by_date` on
(`mdk` = `<dataset>#<date>`, `msk` = `<created_at>#<manifest_id>`), carried by manifest meta items
only: every manifest of one date, in any state, for `verify` (one partition per day, a few hundred
writes a day at most, so it is never hot).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

WAITING_INDEX = "waiting"
LIVE_INDEX = "live"
BY_DATE_INDEX = "by_date"
TTL_ATTRIBUTE = "expires_at"

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]


def create_table(client: Any, table_name: str, *, wait: bool = True, exist_ok: bool = False) -> bool:
    """Create the state table (on-demand billing, TTL on `expires_at`). Terraform mirrors this definition.

    True when created; with `exist_ok`, False when a table of that name exists already (left as it is).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from ...domain.errors import ConfigError

    try:
        _create(client, table_name)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceInUseException" and exist_ok:
            return False
        raise ConfigError(f"cannot create DynamoDB table {table_name!r}: {code}: {exc}") from exc
    except BotoCoreError as exc:
        raise ConfigError(f"cannot create DynamoDB table {table_name!r}: {exc}") from exc
    if wait:
        client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
    return True


def _create(client: Any, table_name: str) -> None:
    string_keys = ("pk", "sk", "wpk", "wsk", "lpk", "lsk", "mdk", "msk")
    client.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in string_keys],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": h, "KeyType": "HASH"}, {"AttributeName": r, "KeyType": "RANGE"}],
                # ALL: a listing page needs whole records, and a second read per item would double its cost
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, h, r in ((WAITING_INDEX, "wpk", "wsk"), (LIVE_INDEX, "lpk", "lsk"), (BY_DATE_INDEX, "mdk", "msk"))
        ],
        SSESpecification={"Enabled": True},
    )


def key(pk: str, sk: str) -> Item:
    """The primary key of one item."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


# --------------------------------------------------------------------- attribute coding
def av(value: object) -> AttributeValue:
    """A Python value as a DynamoDB AttributeValue (numbers keep int/float apart through their text)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list | tuple):
        return {"L": [av(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {str(k): av(v) for k, v in value.items()}}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def py(value: AttributeValue) -> Any:
    """An AttributeValue back as a Python value: numbers as int or float, never Decimal."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return inner
    if kind == "N":
        return int(inner) if inner.lstrip("-").isdigit() else float(inner)
    if kind == "BOOL":
        return bool(inner)
    if kind == "NULL":
        return None
    if kind == "L":
        return [py(v) for v in inner]
    if kind == "M":
        return {k: py(v) for k, v in inner.items()}
    if kind == "SS":
        return set(inner)
    raise TypeError(f"unexpected DynamoDB type {kind}")


def plain(item: Item) -> dict[str, Any]:
    """A whole item as a plain dict."""
    return {name: py(value) for name, value in item.items()}


def encode_item(values: Mapping[str, object]) -> Item:
    """A plain dict as an item; None values are left out (absent, not NULL, so sparse keys stay sparse)."""
    return {name: av(value) for name, value in values.items() if value is not None}
