"""The SQLite backend: `SqliteStore` over one `SqliteDatabase` file."""

from .store import SqliteStore

__all__ = ["SqliteStore"]
