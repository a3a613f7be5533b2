"""Seal dates: once a date is past its grace period and every file of it is finished, mark it.

The store keeps the seal record (the date's final counts and committed manifests). Only a clean seal
(every file DONE) also writes the marker file `_SUCCESS` into the date's partition of the lake, so a
downstream job can wait for it; a date sealed with REJECTED or FAILED files gets none, and a date
that is open again (a late file, a retry) loses its marker.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..batching.planner import past_grace
from ..config.settings import BatchPolicy
from ..domain import clock
from ..domain.clock import epoch, iso
from ..domain.errors import InvalidTransition, PipelineError
from ..domain.records import DateStatus
from ..domain.states import FileState
from ..lake.atomic import publish_bytes
from ..state.base import StateStore
from ..storage.base import Storage, is_s3

log = logging.getLogger(__name__)

#: the marker a clean seal writes into <output>/<dataset>/date=YYYY-MM-DD/ (lake readers skip `_` names)
MARKER_NAME = "_SUCCESS"
MARKER_FORMAT = "ndjson2parquet.seal/1"


@dataclass(frozen=True)
class Sealed:
    """One date sealed by this pass."""

    dataset: str
    date: str
    clean: bool
    files: dict[str, int]

    def label(self) -> str:
        """`dataset/date`, with "(with problems: …)" when it is not clean."""
        if self.clean:
            return f"{self.dataset}/{self.date}"
        problems = ", ".join(f"{n} {state}" for state, n in self.files.items() if n and state != FileState.DONE.value)
        return f"{self.dataset}/{self.date} (with problems: {problems})"


def marker_path(output_root: str | Path, dataset: str, date: str) -> Path:
    """Where a clean seal's marker goes in a local lake: <output>/<dataset>/date=YYYY-MM-DD/_SUCCESS."""
    return Path(output_root) / dataset / f"date={date}" / MARKER_NAME


def marker_location(output_root: str | Path, dataset: str, date: str) -> Path | str:
    """Where a clean seal's marker goes: a Path in a local lake, a URL in an s3:// one."""
    if is_s3(str(output_root)):
        return Storage.join(str(output_root), dataset, f"date={date}", MARKER_NAME)
    return marker_path(output_root, dataset, date)


def _s3(output_root: str | Path, storage: Storage | None) -> Storage:
    if storage is not None:
        return storage
    from ..storage import open_storage

    return open_storage(str(output_root))


def write_marker(output_root: str | Path, status: DateStatus, storage: Storage | None = None) -> Path | str:
    """Write the marker of a cleanly sealed date (JSON: counts, manifest ids, sealed_at), atomically."""
    assert status.seal is not None and status.seal.clean
    path = marker_location(output_root, status.dataset, status.date)
    body = {
        "format": MARKER_FORMAT,
        "dataset": status.dataset,
        "date": status.date,
        "sealed_at": iso(status.sealed_at),
        "files": status.seal.files,
        "manifest_ids": list(status.seal.manifest_ids),
    }
    data = (json.dumps(body, indent=2) + "\n").encode()
    if isinstance(path, Path):
        publish_bytes(path, data, unique=True)  # two runs may seal at once
    else:
        _s3(output_root, storage).write_bytes(path, data)  # one PUT: whole or nothing, the last wins
    return path


def remove_marker(output_root: str | Path, dataset: str, date: str, storage: Storage | None = None) -> bool:
    """Remove a date's marker (it is open again); True if there was one."""
    path = marker_location(output_root, dataset, date)
    if isinstance(path, Path):
        try:
            path.unlink()
        except FileNotFoundError:
            return False
    else:
        s3 = _s3(output_root, storage)
        if s3.info(path) is None:
            return False
        s3.delete([path])
    log.info("seal marker removed: the date is open again", extra={"dataset": dataset, "date": date})
    return True


def markers(output_root: str | Path, storage: Storage | None = None) -> Iterator[tuple[str, str, float]]:
    """(dataset, date, sealed_at) of every clean seal's marker in the lake: the lake's own seal log."""
    if is_s3(str(output_root)):
        s3 = _s3(output_root, storage)
        start = len(str(output_root).rstrip("/")) + 1
        found = [
            o.url
            for o in s3.list(str(output_root))
            if (parts := o.url[start:].split("/"))
            and len(parts) == 3
            and parts[1].startswith("date=")
            and parts[2] == MARKER_NAME
        ]
        for url in sorted(found):
            yield from _marker_body(url, lambda url=url: s3.read_bytes(url))
        return
    for path in sorted(Path(output_root).glob(f"*/date=*/{MARKER_NAME}")):
        yield from _marker_body(str(path), path.read_bytes)


def _marker_body(where: str, read: Callable[[], bytes]) -> Iterator[tuple[str, str, float]]:
    try:
        body = json.loads(read())
        yield body["dataset"], body["date"], epoch(body["sealed_at"])
    except (OSError, ValueError, KeyError, TypeError, PipelineError):
        log.warning("unreadable seal marker left as it is", extra={"path": where})


def seal_ready(
    store: StateStore,
    policy: BatchPolicy,
    now: float | None = None,
    output_root: str | Path | None = None,
    storage: Storage | None = None,
) -> list[Sealed]:
    """Seal every unsealed date past its grace period with nothing pending or claimed; return them.

    With ``output_root``: a clean seal writes its marker, and a date that is not sealed (any more)
    has its marker removed.
    """
    at = clock.now() if now is None else now
    if output_root is not None and is_s3(str(output_root)):
        storage = _s3(output_root, storage)  # one client for the whole pass
    sealed = []
    for status in store.dates():
        if status.sealed_at is not None:
            continue
        if output_root is not None:
            remove_marker(output_root, status.dataset, status.date, storage)
        busy = status.files.get(FileState.PENDING.value, 0) + status.files.get(FileState.CLAIMED.value, 0)
        if busy or not past_grace(status.date, policy, at):
            continue
        try:
            done = store.seal(status.dataset, status.date, now=at)
        except InvalidTransition:
            continue  # a late file arrived in between: next pass
        clean = done.seal is not None and done.seal.clean
        files = done.seal.files if done.seal is not None else dict(done.files)
        if clean and output_root is not None:
            write_marker(output_root, done, storage)
        sealed.append(Sealed(status.dataset, status.date, clean, files))
        log.info(
            "date sealed" if clean else "date sealed with problems",
            extra={"dataset": status.dataset, "date": status.date, "files": files},
        )
    return sealed
