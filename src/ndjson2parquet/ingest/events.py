"""S3 event notifications (as SQS delivers them) read into the objects a landing listing would give.

An SQS message body is one S3 notification: ``{"Records": [...]}`` straight from S3, the same
wrapped in an SNS envelope (``{"Type": "Notification", "Message": "<json>"}``), or the
``s3:TestEvent`` S3 sends when a notification configuration is saved (nothing to register).

Keys arrive URL-encoded (``+`` for a space, ``%xx``) and are decoded here. An object's version is
its ETag, as in a listing (`S3Source`) and in the storage's ``If-Match`` reads: the event of an
object and the listing that recovers a lost event then name the same file version. The version id
of a versioned bucket and the sequencer are kept for ordering and logs. Events are at-least-once
and unordered: within a message, duplicates collapse and each key's events are ordered by their
sequencer. Removals register nothing (a removed input is handled by the conversion, see the README
on deleted inputs); keys outside the landing prefix, under hidden or ``_`` folders, or with a name
that is not an input are skipped, counted and named, as a listing skips them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from ..domain.errors import TerminalError
from ..domain.records import ObjectInfo
from .sources import ListingStats, is_input_name, read_object_prefix, skip_reason

CREATED, REMOVED = "ObjectCreated:", "ObjectRemoved:"
LIFECYCLE_DELETE = "LifecycleExpiration:Delete"


class BadEvent(TerminalError):
    """A message that is not an S3 event notification: it can never succeed (it ends in the DLQ)."""


@dataclass(frozen=True, slots=True)
class S3ObjectEvent:
    """One record of an S3 event notification, its key decoded."""

    name: str  # eventName, e.g. ObjectCreated:Put, ObjectRemoved:Delete
    bucket: str
    key: str
    etag: str | None
    size: int
    version_id: str | None
    sequencer: str | None
    time: float  # eventTime, epoch seconds

    @property
    def created(self) -> bool:
        """True for an ObjectCreated event (Put, Post, Copy, CompleteMultipartUpload)."""
        return self.name.startswith(CREATED)

    @property
    def removed(self) -> bool:
        """True for a removal (a delete, a delete marker, a lifecycle expiration)."""
        return self.name.startswith(REMOVED) or self.name.startswith(LIFECYCLE_DELETE)

    @property
    def uri(self) -> str:
        """s3://bucket/key."""
        return f"s3://{self.bucket}/{self.key}"

    def order(self) -> tuple[str, int]:
        """Sort key putting one key's events in S3's order (sequencers compare as hex numbers)."""
        return (self.uri, int(self.sequencer, 16) if self.sequencer else 0)


def parse_body(body: str) -> list[S3ObjectEvent]:
    """The S3 object events of one SQS message body; [] for ``s3:TestEvent``.

    Raises BadEvent for anything else (not JSON, not an S3 notification, a record missing a field).
    """
    try:
        message = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise BadEvent(f"message body is not JSON: {exc}") from exc
    if isinstance(message, dict) and message.get("Type") == "Notification" and "Message" in message:
        return parse_body(message["Message"])  # S3 → SNS → SQS
    if not isinstance(message, dict):
        raise BadEvent(f"message body is not an S3 event notification (a JSON {type(message).__name__})")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise BadEvent("message body is not an S3 event notification (no Records list)")
    return [parse_record(record) for record in records]


def parse_record(record: Any) -> S3ObjectEvent:
    """One notification record → S3ObjectEvent (its key URL-decoded)."""
    try:
        if record.get("eventSource") != "aws:s3":
            raise BadEvent(f"not an S3 event record (eventSource {record.get('eventSource')!r})")
        s3 = record["s3"]
        obj = s3["object"]
        stamp = str(record["eventTime"]).replace("Z", "+00:00")
        return S3ObjectEvent(
            name=str(record["eventName"]),
            bucket=str(s3["bucket"]["name"]),
            key=unquote_plus(str(obj["key"])),
            etag=str(obj["eTag"]).strip('"') if obj.get("eTag") else None,
            size=int(obj.get("size") or 0),
            version_id=obj.get("versionId") or None,
            sequencer=obj.get("sequencer") or None,
            time=datetime.fromisoformat(stamp).timestamp(),
        )
    except BadEvent:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise BadEvent(f"malformed S3 event record: {type(exc).__name__}: {exc}") from exc


def in_order(events: Iterable[S3ObjectEvent]) -> list[S3ObjectEvent]:
    """Events without exact repeats, each key's in sequencer order (S3 delivers neither promise)."""
    unique = {(e.name, e.uri, e.etag, e.version_id, e.sequencer): e for e in events}
    return sorted(unique.values(), key=S3ObjectEvent.order)


@dataclass
class EventSource:
    """The created objects some S3 events name, as a `Source` that `ingest.registration.ingest` takes.

    ``bucket`` and ``prefix`` are the landing zone; ``storage`` (an S3Storage) reads an object's first
    bytes when a file's version must be compared with a converted one, and HEADs objects.

    With ``confirm`` (the intake's default), each named object is HEADed (``workers`` at a time) and
    what S3 holds now is registered, as a listing of those keys would: an event that arrives after
    the event of a newer version of its key (S3 does not order deliveries) then names the current
    version, and can never make the older one supersede it; such events are counted in ``stale``.
    Without it, the event's own ETag, size and time are taken (an event with no ETag is HEADed).
    ``removed`` counts removals and objects already gone, ``stats`` the skipped keys, ``taken`` the
    objects handed to registration.
    """

    bucket: str
    prefix: str
    events: list[S3ObjectEvent]
    storage: Any = None
    confirm: bool = False
    workers: int = 8
    stats: ListingStats = field(default_factory=ListingStats)
    removed: int = 0
    stale: int = 0
    taken: list[ObjectInfo] = field(default_factory=list)
    mutable = False  # an object version never changes

    def describe(self) -> str:
        """The landing zone's s3:// url."""
        return f"s3://{self.bucket}/{self.prefix}"

    def objects(self) -> Iterator[ObjectInfo]:
        """The input objects the created events name, in S3's order; the rest counted in ``stats``."""
        wanted = list(self._inputs())
        heads: Iterable[Any]
        if self.confirm and wanted:
            with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(wanted)))) as pool:
                heads = list(pool.map(lambda item: self.storage.info(item[0].uri), wanted))
        else:
            heads = [None if event.etag else self.storage.info(event.uri) for event, _ in wanted]
        for (event, relative), head in zip(wanted, heads, strict=True):
            obj = self._object(event, relative, head)
            if obj is not None:
                self.taken.append(obj)
                yield obj

    def _inputs(self) -> Iterator[tuple[S3ObjectEvent, str]]:
        """Created events of input objects in the landing zone, with their keys below its prefix."""
        root = self.prefix.strip("/")
        start = len(root) + 1 if root else 0
        for event in in_order(self.events):
            if event.removed:
                self.removed += 1
                continue
            if not event.created:
                self.stats.skip(event.uri, f"event {event.name} registers nothing")
                continue
            if event.bucket != self.bucket or (root and not event.key.startswith(root + "/")):
                self.stats.skip(event.uri, "outside the landing zone")
                continue
            relative = event.key[start:]
            parts = relative.split("/")
            hidden = [p for p in parts[:-1] if p.startswith((".", "_"))]
            if hidden or not is_input_name(parts[-1]):
                self.stats.skip(event.uri, skip_reason(hidden[0] if hidden else parts[-1]))
                continue
            yield event, relative

    def _object(self, event: S3ObjectEvent, relative: str, head: Any) -> ObjectInfo | None:
        if head is None and (self.confirm or not event.etag):
            self.removed += 1  # gone already: its removal event says so too
            return None
        if head is None:
            return ObjectInfo(
                uri=event.uri, key=relative, version=str(event.etag), size=event.size, modified_at=event.time
            )
        if event.etag and head.version != event.etag:
            self.stale += 1  # overwritten since: the current version is registered (its own event is a no-op)
        return ObjectInfo(
            uri=event.uri, key=relative, version=head.version, size=head.size, modified_at=head.modified_at
        )

    def read_prefix(self, uri: str, n: int) -> bytes:
        """The first n bytes of an object (one ranged GET; none if it is gone)."""
        return read_object_prefix(self.storage, uri, n)
