"""Where the DynamoDB table's definition was: kept so existing imports work (see `state/dynamodb/table`)."""

from .dynamodb.table import BY_DATE_INDEX, LIVE_INDEX, TTL_ATTRIBUTE, WAITING_INDEX, create_table

__all__ = ["BY_DATE_INDEX", "LIVE_INDEX", "TTL_ATTRIBUTE", "WAITING_INDEX", "create_table"]
