"""Close manifests per (dataset, date) when a batch policy says so, and claim their files.

A manifest closes when it reaches `max_files` or `target_bytes`, when its oldest file has waited
`max_wait`, or when its date is past the late-data grace period (the end-of-day flush). Claims are
conditional writes, so any number of planners may run at once: a planner that loses a race lists
again and never puts a file into two manifests. Memory is bounded by `max_files` records.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..backoff import Backoff
from ..config.settings import BatchPolicy
from ..domain import clock
from ..domain.records import FileRecord, Manifest
from ..state.base import StateStore

log = logging.getLogger(__name__)

#: consecutive lost claim races after which a planner leaves a date to its competitors for now
MAX_LOST_RACES = 8


def end_of_day(date: str) -> float:
    """Epoch seconds at which a YYYY-MM-DD date (UTC) ends."""
    day = datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=UTC)
    return (day + timedelta(days=1)).timestamp()


def past_grace(date: str, policy: BatchPolicy, now: float) -> bool:
    """True once no more late data is expected for the date: its remainder must be flushed."""
    return now >= end_of_day(date) + policy.grace_period_s


@dataclass(frozen=True)
class Candidate:
    """The oldest pending files of one (dataset, date), up to one manifest's worth, and why to close."""

    files: list[FileRecord]
    reason: str | None  # None: not ready yet


@dataclass(frozen=True)
class Claim:
    """A manifest just closed, with the records of its files (so its runner need not read them again)."""

    manifest: Manifest
    files: list[FileRecord]


class Planner:
    """Turns pending files into manifests according to a BatchPolicy."""

    def __init__(self, store: StateStore, policy: BatchPolicy | None = None, backoff: Backoff | None = None) -> None:
        self.store = store
        self.policy = policy or BatchPolicy()
        # without a pause, racing planners re-read the same oldest files in lockstep and keep colliding
        self.backoff = backoff or Backoff(base=0.02, cap=1.0)
        # claims lost to another planner since this one was made (review Q19: the contention the
        # review's lock had, as a metric); counted under a lock, planners may run on threads
        self.lost_races = 0
        self._lost_lock = threading.Lock()

    def close_ready(self, *, drain: bool = False, now: float | None = None) -> Iterator[Claim]:
        """Claim every manifest that is ready now; with `drain`, also every partial remainder."""
        at = clock.now() if now is None else now
        for status in self.store.dates():
            if status.files.get("PENDING", 0):
                yield from self.close_date(status.dataset, status.date, drain=drain, now=at)

    def close_date(self, dataset: str, date: str, *, drain: bool = False, now: float | None = None) -> Iterator[Claim]:
        """Claim ready manifests of one (dataset, date) until what is left is not ready."""
        at = clock.now() if now is None else now
        lost = 0
        while lost < MAX_LOST_RACES:
            candidate = self.candidate(dataset, date, drain=drain, now=at)
            if candidate.reason is None:
                return
            manifest = self.store.claim(candidate.files, candidate.reason, now=at)
            if manifest is None:
                lost += 1  # another planner took some of these files: wait a jittered moment, list again
                with self._lost_lock:
                    self.lost_races += 1
                time.sleep(self.backoff.delay(lost))
                continue
            lost = 0
            log.info(
                "manifest closed",
                extra={
                    "manifest_id": manifest.manifest_id,
                    "files": len(manifest.file_ids),
                    "bytes": manifest.bytes,
                    "reason": manifest.reason,
                },
            )
            yield Claim(manifest, candidate.files)

    def candidate(self, dataset: str, date: str, *, drain: bool, now: float) -> Candidate:
        """The next manifest's files for (dataset, date), read page by page, and whether it may close."""
        files: list[FileRecord] = []
        size = 0
        cursor: str | None = None
        while len(files) < self.policy.max_files:
            page = self.store.pending(dataset, date, self.policy.max_files - len(files), cursor)
            for record in page.items:
                files.append(record)
                size += record.size
                if size >= self.policy.target_bytes:
                    return Candidate(files, "target_bytes")
            if page.cursor is None:
                break
            cursor = page.cursor
        if not files:
            return Candidate(files, None)
        if len(files) >= self.policy.max_files:
            return Candidate(files, "max_files")
        if now - min(f.registered_at for f in files) >= self.policy.max_wait_s:
            return Candidate(files, "max_wait")
        if past_grace(date, self.policy, now):
            return Candidate(files, "seal")
        if drain:
            return Candidate(files, "drain")
        return Candidate(files, None)
