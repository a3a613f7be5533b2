"""Where `SqliteStore` was: kept so existing imports work (the code is in `state/sqlite/`)."""

from .sqlite import SqliteStore

__all__ = ["SqliteStore"]
