"""The DynamoDB backend: `DynamoDbStore`, composed of parts that each hold one concern (see `store`)."""

from .store import DynamoDbStore
from .table import create_table

__all__ = ["DynamoDbStore", "create_table"]
