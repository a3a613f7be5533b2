"""Fault injection for the workflow's steps: wrappers of the state store, the storage, the commit
records and the engine that count every write and crash at a chosen one, before or after it is done."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: the methods that write, per wrapped object
STORE_WRITES = frozenset(
    {"announce_owner", "retire_owner", "start", "fail", "compensate", "requeue", "succeed", "settle", "put_schema"}
)
STORAGE_WRITES = frozenset({"write_bytes", "open_write", "publish_file", "delete", "copy"})
RECORD_WRITES = frozenset({"write", "delete"})
ENGINE_WRITES = frozenset({"convert", "remove_outputs"})


class Crash(BaseException):
    """The process dies here: nothing of ours catches a BaseException that is not an Exception."""


class Faults:
    """Counts writes across every wrapper sharing it; crashes at write number ``at`` (``when``:
    "before" the write is done, or "after" it)."""

    def __init__(self, at: int | None = None, when: str = "before") -> None:
        self.at, self.when = at, when
        self.writes: list[str] = []

    def hit(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.writes.append(name)
        crash = self.at == len(self.writes)
        if crash and self.when == "before":
            raise Crash(f"before write {self.at}: {name}")
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # the write failed, and the process died before handling that
            if crash:
                raise Crash(f"after write {self.at} failed: {name}") from exc
            raise
        if crash and self.when == "after":
            raise Crash(f"after write {self.at}: {name}")
        return result


class Faulty:
    """A proxy of ``inner`` whose ``writes`` methods go through ``faults``; everything else passes."""

    def __init__(self, inner: Any, writes: frozenset[str], faults: Faults, prefix: str) -> None:
        self._inner, self._writes, self._faults, self._prefix = inner, writes, faults, prefix

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self._writes:
            return attr
        return lambda *args, **kwargs: self._faults.hit(f"{self._prefix}.{name}", attr, *args, **kwargs)
