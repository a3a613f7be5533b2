"""Seal dates: once a date is past its grace period and every file of it is finished, mark it."""

from __future__ import annotations

import logging

from ..batching.planner import past_grace
from ..config.settings import BatchPolicy
from ..domain import clock
from ..domain.errors import InvalidTransition
from ..domain.states import FileState
from ..state.base import StateStore

log = logging.getLogger(__name__)


def seal_ready(store: StateStore, policy: BatchPolicy, now: float | None = None) -> list[tuple[str, str]]:
    """Seal every unsealed date past its grace period with nothing pending or claimed; return them."""
    at = clock.now() if now is None else now
    sealed = []
    for status in store.dates():
        busy = status.files.get(FileState.PENDING.value, 0) + status.files.get(FileState.CLAIMED.value, 0)
        if status.sealed_at is not None or busy or not past_grace(status.date, policy, at):
            continue
        try:
            marker = store.seal(status.dataset, status.date, now=at)
        except InvalidTransition:
            continue  # a late file arrived in between: next pass
        sealed.append((status.dataset, status.date))
        log.info("date sealed", extra={"dataset": status.dataset, "date": status.date, "files": marker.files})
    return sealed
