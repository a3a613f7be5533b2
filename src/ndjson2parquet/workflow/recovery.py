"""Find manifests a crash or a lost start left behind and drive each to its next state.

- CLAIMING whose lease ran out: an interrupted multi-step claim, rolled back.
- RUNNING whose owner is gone (its lease expired, or its owner has no live record in the state
  store: a killed process, an aborted Step Functions execution or Glue run, on any host): requeued
  as CREATED, to be re-driven under the same id (its parts are replaced, never duplicated).
- SUCCEEDED but unsettled: the commit happened; its files are marked DONE (the commit step's end).
- FAILED but unsettled: its outputs are removed and its files compensated (the compensate step).
CREATED manifests are left for workers (or, on AWS, re-started when their start deadline passed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from ..domain import clock
from ..domain.errors import ConditionFailed
from ..domain.records import Manifest
from ..domain.states import ManifestState
from ..state.base import StateStore
from .executor import ManifestExecutor
from .lease import owner_alive

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    """What one recovery pass did, by manifest id."""

    abandoned: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    compensated: list[str] = field(default_factory=list)
    runnable: list[str] = field(default_factory=list)  # CREATED, waiting for a worker
    swept: list[str] = field(default_factory=list)  # settled manifests whose leftover work objects were removed

    def as_dict(self) -> dict[str, list[str]]:
        """A JSON-ready view."""
        return {k: list(v) for k, v in vars(self).items()}

    @property
    def touched(self) -> int:
        """How many manifests this pass changed."""
        return len(self.abandoned) + len(self.requeued) + len(self.settled) + len(self.compensated) + len(self.swept)


def _expired(manifest: Manifest, now: float) -> bool:
    return manifest.lease_expires_at is not None and manifest.lease_expires_at <= now


def recover(
    store: StateStore,
    executor: ManifestExecutor,
    now: float | None = None,
    alive: Callable[[str | None], bool | None] | None = None,
) -> RecoveryReport:
    """One pass over the live manifests (bounded pages); safe to run from many processes at once.

    ``alive``: whether a lease owner lives (None: unknown, its lease decides); by default its record
    in the state store says.
    """
    at = clock.now() if now is None else now
    alive = alive or partial(owner_alive, store, now=at)
    report = RecoveryReport()
    for manifest in store.live_manifests():
        try:
            if manifest.state == ManifestState.CLAIMING and _expired(manifest, at):
                store.abandon_claim(manifest)
                report.abandoned.append(manifest.manifest_id)
            elif manifest.state == ManifestState.RUNNING and (
                _expired(manifest, at) or alive(manifest.lease_owner) is False
            ):
                store.requeue(manifest, now=at)
                report.requeued.append(manifest.manifest_id)
                report.runnable.append(manifest.manifest_id)
            elif manifest.state == ManifestState.CREATED:
                report.runnable.append(manifest.manifest_id)
            elif manifest.state == ManifestState.SUCCEEDED:
                executor.settle(manifest)
                report.settled.append(manifest.manifest_id)
            elif manifest.state == ManifestState.FAILED:
                executor.compensate(manifest)
                report.compensated.append(manifest.manifest_id)
        except ConditionFailed:
            continue  # another recoverer or the owner moved it on: nothing to do
    report.swept = executor.sweep_work()
    if report.touched:
        log.info("recovered manifests", extra=report.as_dict())
    return report
