"""Time helpers shared by every store and service (one TTL rule, finding LAMBDA-CQ-001)."""

from __future__ import annotations

import time

DAY_SECONDS = 86_400


def now() -> float:
    """Epoch seconds; one place to read the clock."""
    return time.time()


def ttl_epoch(finished_at: float, retention_days: int) -> int:
    """When a finished record may be deleted by the store's TTL (epoch seconds)."""
    return int(finished_at) + retention_days * DAY_SECONDS
