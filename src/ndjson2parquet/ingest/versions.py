"""What a listed object is, given the versions of its file already registered: files that change.

A file is registered once per content, never once per listing:

* an object whose uri was never seen is a new, whole version (no lookup of its own: the uris of a
  listing chunk are looked up together);
* the same version again (same size and modification time, or ETag) changes nothing;
* a file whose converted prefix (``end_offset`` bytes, checked by their digest) is unchanged is:
  unchanged when it has no more bytes (``touch``, a copy keeping the bytes), or a *continuation*
  when it grew: a new version converting only the new tail, its lines numbered on;
* any other change of converted bytes (rewritten, truncated, a compressed file that grew, a last
  converted line that grew) is *changed*: reported, and registered CHANGED (policy ``report``) or
  as a whole new version converted knowingly (``new-version``);
* a version never converted (PENDING or FAILED) that a newer one replaces is superseded (REJECTED);
  while a version is being converted (CLAIMED), a newer one waits for the next listing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..config.settings import OnChanged
from ..domain.records import CHANGED_SINCE_REGISTRATION, FileRecord, ObjectInfo, content_digest
from ..domain.states import FileState
from ..state.base import StateStore

GZIP_MAGIC, ZSTD_MAGIC = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"

PrefixReader = Callable[[str, int], bytes]  # (uri, n) -> the object's first n bytes as stored


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision about one listed object: a record to register (or None) and what to count."""

    record: FileRecord | None
    outcome: str  # new, known, unchanged, continued, deferred, changed
    reason: str = ""
    action: str = ""


class Versioner:
    """Decides, for objects of known uris, whether and how they are registered (see the module doc)."""

    def __init__(
        self,
        store: StateStore,
        read_prefix: PrefixReader,
        on_changed: OnChanged,
        unchanged: dict[str, str] | None = None,
    ) -> None:
        self.store, self.read_prefix, self.on_changed = store, read_prefix, on_changed
        # uri -> a version found to hold the converted bytes unchanged: not read and hashed again at
        # every poll of `watch` (the caller keeps this across listings)
        self.unchanged = {} if unchanged is None else unchanged

    def decide(self, obj: ObjectInfo, fresh: FileRecord, versions: list[FileRecord], now: float) -> Verdict:
        """The verdict for one object, ``fresh`` its new record (dated), whose uri has `versions` (oldest
        first, never empty)."""
        same = next((v for v in versions if v.file_id == fresh.file_id), None)
        if same is not None:
            return self._known(same, now)
        if self.unchanged.get(obj.uri) == obj.version:
            return Verdict(None, "unchanged")
        if any(v.state == FileState.CLAIMED for v in versions):
            return Verdict(None, "deferred")  # converted right now: the next listing decides
        waiting = [v for v in versions if v.state in (FileState.PENDING, FileState.FAILED)]
        if waiting and len(self.store.supersede(waiting, CHANGED_SINCE_REGISTRATION, now)) < len(waiting):
            return Verdict(None, "deferred")  # one was claimed meanwhile
        done = [v for v in versions if v.state == FileState.DONE]
        if not done:
            return Verdict(fresh, "new")  # nothing of it converted yet: a whole version
        return self._against(obj, fresh, done[-1])

    def _known(self, record: FileRecord, now: float) -> Verdict:
        if record.state != FileState.CHANGED:
            return Verdict(None, "known")
        if self.on_changed is OnChanged.NEW_VERSION and self.store.accept_changed(record, now):
            return Verdict(None, "changed", record.error or "changed", "converted as a new version")
        return Verdict(None, "changed", record.error or "changed", "reported earlier, not converted")

    def _against(self, obj: ObjectInfo, fresh: FileRecord, base: FileRecord) -> Verdict:
        """Compare with the latest converted version: unchanged, continuation, or changed."""
        end, digest = base.ledger.end_offset, base.ledger.digest
        if obj.size < end:
            return self._changed(fresh, base, f"truncated: {obj.size} bytes, {end} were converted")
        prefix = self.read_prefix(obj.uri, end)
        if digest is None or len(prefix) != end or content_digest(prefix) != digest:
            return self._changed(fresh, base, "rewritten: the bytes converted before differ")
        if obj.size == end:
            self.unchanged[obj.uri] = obj.version
            return Verdict(None, "unchanged")  # touched, or copied with the same bytes
        if prefix.startswith((GZIP_MAGIC, ZSTD_MAGIC)):
            return self._changed(fresh, base, "a compressed file grew (compressed files are converted whole)")
        if end and not prefix.endswith(b"\n"):
            return self._changed(fresh, base, "grew inside its last converted line (it had no newline)")
        continuation = replace(
            fresh,
            dataset=base.dataset,
            date=base.date,
            start_offset=end,
            first_line=base.ledger.first_line + base.ledger.lines,
        )
        return Verdict(continuation, "continued")

    def _changed(self, fresh: FileRecord, base: FileRecord, reason: str) -> Verdict:
        if self.on_changed is OnChanged.NEW_VERSION:
            record = replace(fresh, changed_from=base.file_id)
            return Verdict(record, "changed", reason, "converted as a new version")
        record = replace(fresh, state=FileState.CHANGED, changed_from=base.file_id, error=reason)
        return Verdict(record, "changed", reason, "reported, not converted")
