"""Where `DynamoDbStore` was: kept so existing imports work (the code is in `state/dynamodb/`)."""

from .dynamodb import DynamoDbStore

__all__ = ["DynamoDbStore"]
