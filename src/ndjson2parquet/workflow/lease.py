"""Who holds a manifest, and whether that holder is still alive."""

from __future__ import annotations

import logging
import os
import socket
import threading

import psutil

from ..domain.errors import ConditionFailed, PipelineError
from ..domain.records import Manifest
from ..state.base import StateStore

log = logging.getLogger(__name__)


def owner_token() -> str:
    """host:pid:process-start-time: unique even when the OS reuses a pid."""
    start = int(psutil.Process(os.getpid()).create_time() * 1000)
    return f"{socket.gethostname()}:{os.getpid()}:{start}"


def owner_alive(owner: str | None) -> bool | None:
    """True/False for an owner on this host; None when it lives elsewhere (only its lease can tell)."""
    if not owner:
        return False
    try:
        host, pid_text, start_text = owner.rsplit(":", 2)
        pid, start = int(pid_text), int(start_text)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    try:
        return int(psutil.Process(pid).create_time() * 1000) == start
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return None


class Heartbeat:
    """Renews a RUNNING manifest's lease in the background; `lost` is set if someone took it over."""

    def __init__(self, store: StateStore, manifest: Manifest, owner: str, interval_s: float) -> None:
        self.store, self.manifest, self.owner, self.interval_s = store, manifest, owner, interval_s
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
        while not self._stop.wait(self.interval_s):
            try:
                self.store.renew(self.manifest, self.owner)
            except ConditionFailed:
                log.warning("lease lost", extra={"manifest_id": self.manifest.manifest_id})
                self.lost.set()
                return
            except PipelineError as exc:  # a transient store error: the next beat tries again
                log.warning("lease renewal failed", extra={"manifest_id": self.manifest.manifest_id, "error": str(exc)})
