"""Single items of the DynamoDB store, each read and written whole: dataset schemas and owners."""

from __future__ import annotations

from ...domain.errors import ConditionFailed
from .codec import owner_key
from .requests import DynamoDbRequests
from .table import TTL_ATTRIBUTE, av, key, py


class SingleItems:
    """Schemas (versioned, conditional) and owner records (with a TTL), through the request runner."""

    def __init__(self, requests: DynamoDbRequests) -> None:
        self.requests = requests

    def get_schema(self, dataset: str) -> tuple[int, str] | None:
        """(version, schema JSON) of a dataset, or None."""
        item = self.requests.call("get_item", Key=key(f"S#{dataset}", "S"), ConsistentRead=True).get("Item")
        return (py(item["version"]), py(item["schema"])) if item else None

    def put_schema(self, dataset: str, schema_json: str, expected_version: int) -> None:
        """Write version expected_version + 1, or ConditionFailed if the stored one moved on."""
        schema_key = key(f"S#{dataset}", "S")
        try:
            if expected_version == 0:
                self.requests.call(
                    "put_item",
                    Item={**schema_key, "version": {"N": "1"}, "schema": {"S": schema_json}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            else:
                self.requests.call(
                    "update_item",
                    Key=schema_key,
                    UpdateExpression="SET version = :n, #s = :s",
                    ConditionExpression="version = :e",
                    ExpressionAttributeNames={"#s": "schema"},
                    ExpressionAttributeValues={
                        ":n": {"N": str(expected_version + 1)},
                        ":e": {"N": str(expected_version)},
                        ":s": {"S": schema_json},
                    },
                )
        except ConditionFailed:
            raise ConditionFailed(f"schema of {dataset} moved past version {expected_version}") from None

    def put_owner(self, owner: str, alive_until: float, expires_at: int) -> None:
        """Create or overwrite an owner's record, with the TTL attribute that drops it later."""
        item = {**owner_key(owner), "alive_until": av(alive_until), TTL_ATTRIBUTE: {"N": str(expires_at)}}
        self.requests.call("put_item", Item=item)

    def delete_owner(self, owner: str) -> None:
        """Delete an owner's record (absent is fine)."""
        self.requests.call("delete_item", Key=owner_key(owner))

    def get_owner(self, owner: str) -> float | None:
        """An owner's `alive_until`, or None."""
        item = self.requests.call("get_item", Key=owner_key(owner), ConsistentRead=True).get("Item")
        return float(py(item["alive_until"])) if item else None
