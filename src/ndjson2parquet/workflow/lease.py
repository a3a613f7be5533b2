"""Who holds a manifest, and whether that holder is still alive: told by the state store, not the host.

An owner is whatever holds a manifest's lease: a process (the embedded pipeline), a Step Functions
execution or a Glue job run. It announces itself in the state store with a time to live and renews
that record while it works (`OwnerPresence`, and the `Heartbeat` of a converting manifest); it
retires the record when it exits cleanly. A RUNNING manifest whose owner has no live record is
requeued by recovery, whichever host recovery runs on: a killed process's record simply expires.

Owners are stored as the string column ``lease_owner``: ``<kind>:<id>``. A string of the older form
``host:pid:start`` (written before owners announced themselves) parses as a legacy process owner:
it never had a record, so only its lease can tell whether it is gone.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ..domain.errors import ConditionFailed, PipelineError
from ..domain.records import Manifest

log = logging.getLogger(__name__)


class OwnerKind(StrEnum):
    """What kind of thing holds a lease."""

    PROCESS = "process"  # an embedded pipeline (`run`, `watch`, `recover`)
    SFN_EXECUTION = "sfn-execution"  # a Step Functions execution (its ARN)
    GLUE_RUN = "glue-run"  # a Glue job run (job name and run id)


@dataclass(frozen=True, slots=True)
class Owner:
    """A lease holder: its kind and an id unique among holders of that kind."""

    kind: OwnerKind
    id: str
    legacy: bool = False  # an older ``host:pid:start`` token: it never announced itself

    def __str__(self) -> str:
        return self.id if self.legacy else f"{self.kind.value}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Owner:
        """The owner a ``lease_owner`` string names (older ``host:pid:start`` tokens included)."""
        head, sep, rest = text.partition(":")
        if sep and rest and head in OwnerKind._value2member_map_:
            return cls(OwnerKind(head), rest)
        return cls(OwnerKind.PROCESS, text, legacy=True)

    @classmethod
    def process(cls) -> Owner:
        """This process, as one pipeline: host, pid and a random part (a pid is reused; so is a host name)."""
        return cls(OwnerKind.PROCESS, f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}")

    @classmethod
    def sfn_execution(cls, execution_arn: str) -> Owner:
        """A Step Functions execution, by its ARN."""
        return cls(OwnerKind.SFN_EXECUTION, execution_arn)

    @classmethod
    def glue_run(cls, job_name: str, run_id: str) -> Owner:
        """A Glue job run."""
        return cls(OwnerKind.GLUE_RUN, f"{job_name}:{run_id}")


class OwnerRegistry(Protocol):
    """What a state store offers about owners (`StateStore` implements it)."""

    def announce_owner(self, owner: str, ttl_s: float, now: float | None = None) -> None:
        """Create or renew the owner's record, alive until now + ttl_s."""

    def retire_owner(self, owner: str) -> None:
        """Delete the owner's record."""

    def owner_alive(self, owner: str, now: float | None = None) -> bool:
        """Whether the owner's record exists and has not expired."""


class LeaseStore(OwnerRegistry, Protocol):
    """Owners plus the manifest lease's renewal."""

    def renew(self, manifest: Manifest, owner: str, now: float | None = None) -> Manifest:
        """Extend a RUNNING manifest's lease held by ``owner``."""


def owner_alive(store: OwnerRegistry, owner: str | None, now: float | None = None) -> bool | None:
    """True/False as the store's owner records say; None for a legacy owner (only its lease can tell)."""
    if not owner:
        return False
    if Owner.parse(owner).legacy:
        return None
    return store.owner_alive(owner, now=now)


class OwnerPresence:
    """An owner's record kept alive in the store while a block runs: announced, renewed every
    ``ttl_s / 3``, retired when the block exits (a killed process's record expires by itself)."""

    def __init__(self, store: OwnerRegistry, owner: str, ttl_s: float) -> None:
        self.store, self.owner, self.ttl_s = store, owner, ttl_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._depth = 0  # run() inside watch(): one record, retired by the outermost block
        self._lock = threading.Lock()

    def __enter__(self) -> OwnerPresence:
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return self
            self.store.announce_owner(self.owner, self.ttl_s)
            self._stop.clear()
            self._thread = threading.Thread(target=self._beat, name="owner-presence", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth:
                return
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
        try:
            self.store.retire_owner(self.owner)
        except PipelineError as exc:  # it expires by itself
            log.warning("owner record not retired", extra={"owner": self.owner, "error": str(exc)})

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                self.store.announce_owner(self.owner, self.ttl_s)
            except PipelineError as exc:  # a transient store error: the next beat tries again
                log.warning("owner renewal failed", extra={"owner": self.owner, "error": str(exc)})


class Heartbeat:
    """Renews a RUNNING manifest's lease (every ``interval_s``) and, when ``owner_ttl_s`` is given, its
    owner's record (every third of that) in the background; `lost` is set if someone took the
    manifest over."""

    def __init__(
        self, store: LeaseStore, manifest: Manifest, owner: str, interval_s: float, owner_ttl_s: float | None = None
    ) -> None:
        self.store, self.manifest, self.owner = store, manifest, owner
        self.owner_ttl_s = owner_ttl_s
        self.lease_every_s = interval_s
        self.interval_s = min(interval_s, owner_ttl_s / 3) if owner_ttl_s else interval_s
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{manifest.manifest_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        renewed_at = time.monotonic()
        while not self._stop.wait(self.interval_s):
            try:
                if self.owner_ttl_s:
                    self.store.announce_owner(self.owner, self.owner_ttl_s)
                if time.monotonic() - renewed_at >= self.lease_every_s * 0.99:
                    self.store.renew(self.manifest, self.owner)
                    renewed_at = time.monotonic()
            except ConditionFailed:
                log.warning("lease lost", extra={"manifest_id": self.manifest.manifest_id})
                self.lost.set()
                return
            except PipelineError as exc:  # a transient store error: the next beat tries again
                log.warning("lease renewal failed", extra={"manifest_id": self.manifest.manifest_id, "error": str(exc)})
