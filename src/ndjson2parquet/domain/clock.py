"""Time helpers shared by every store and service (one TTL rule, finding LAMBDA-CQ-001)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

DAY_SECONDS = 86_400


def now() -> float:
    """Epoch seconds; one place to read the clock."""
    return time.time()


def ttl_epoch(finished_at: float, retention_days: int) -> int:
    """When a finished record may be deleted by the store's TTL (epoch seconds)."""
    return int(finished_at) + retention_days * DAY_SECONDS


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC (`2026-11-25T10:00:00.123Z`), as every JSON we write has it; None stays None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch(text: str) -> float:
    """ISO 8601 (as `iso` writes it) back to epoch seconds."""
    return datetime.fromisoformat(text).timestamp()
