"""Turn listed objects into PENDING file records: dataset and date read from each key."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from ..config.settings import OnChanged
from ..domain import clock
from ..domain.partitioning import Partitioner
from ..domain.records import FileRecord, ObjectInfo
from ..state.base import StateStore
from .sources import Source, read_local_prefix
from .versions import Verdict, Versioner

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest pass saw."""

    listed: int = 0
    new: int = 0
    already_known: int = 0
    skipped: int = 0
    late_dates: list[tuple[str, str]] = field(default_factory=list)
    continued: int = 0  # converted files that grew: only their new tails are registered
    unchanged: int = 0  # touched or copied with the same bytes: not a new version
    deferred: int = 0  # a version is being converted right now: the next listing registers this one
    unsettled: list[str] = field(default_factory=list)  # still being written (modified within the settle period)
    changed: list[dict[str, str]] = field(default_factory=list)  # {uri, reason, action}: converted bytes changed

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {
            "listed": self.listed,
            "new": self.new,
            "already_known": self.already_known,
            "skipped": self.skipped,
            "late_dates": [f"{d}/{day}" for d, day in self.late_dates],
            "continued": self.continued,
            "unchanged": self.unchanged,
            "deferred": self.deferred,
            "unsettled": list(self.unsettled),
            "changed": list(self.changed),
        }


def to_records(objects: Iterable[ObjectInfo], partitioner: Partitioner, now: float) -> Iterator[FileRecord]:
    """FileRecords for objects, lazily."""
    for obj in objects:
        yield FileRecord.new(partitioner.dataset_of(obj.key), partitioner.date_of(obj.key, obj.modified_at), obj, now)


def ingest(
    source: Source,
    store: StateStore,
    partitioner: Partitioner,
    now: float | None = None,
    report: IngestReport | None = None,
    *,
    settle_s: float = 0.0,
    on_changed: OnChanged = OnChanged.REPORT,
    unchanged: dict[str, str] | None = None,
) -> IngestReport:
    """List a landing zone and register every object; already registered versions change nothing.

    ``report``, when given, is filled as the listing goes (``listed`` grows while it runs); counts
    add up over several passes with the same report. ``settle_s``: a file of a source whose objects
    can change (a local folder) is registered only once it was not modified for that long; the
    younger ones are listed in ``unsettled``. What happens to files that change: ``versions``;
    ``unchanged``, kept by a caller that lists again and again, spares hashing a touched file again.
    """
    report = IngestReport() if report is None else report
    at = clock.now() if now is None else now
    settle = settle_s if getattr(source, "mutable", False) else 0.0
    reader = getattr(source, "read_prefix", read_local_prefix)
    versioner = Versioner(store, partitioner, reader, on_changed, unchanged)
    report.unsettled = []

    def settled(objects: Iterable[ObjectInfo]) -> Iterator[ObjectInfo]:
        for obj in objects:
            report.listed += 1
            if settle and at - obj.modified_at < settle:
                report.unsettled.append(obj.uri)
                continue
            yield obj

    def records(objects: Iterable[ObjectInfo]) -> Iterator[FileRecord]:
        # the uris of a chunk are looked up together: a uri never seen costs no request of its own
        stream = iter(objects)
        while chunk := list(islice(stream, store.write_chunk)):
            fresh = [
                FileRecord.new(partitioner.dataset_of(o.key), partitioner.date_of(o.key, o.modified_at), o, at)
                for o in chunk
            ]
            known = store.versions_of([r.uri for r in fresh], {r.uri: r.file_id for r in fresh})
            for obj, record in zip(chunk, fresh, strict=True):
                versions = known.get(obj.uri)
                if not versions:
                    yield record
                    continue
                verdict = versioner.decide(obj, versions, at)
                _count(report, obj, verdict)
                if verdict.record is not None:
                    yield verdict.record

    result = store.register(records(settled(source.objects())))
    report.new += result.new
    report.already_known += result.seen
    report.late_dates = sorted({*report.late_dates, *result.late})
    report.skipped = getattr(getattr(source, "stats", None), "skipped", 0)
    for dataset, date in result.late:
        log.warning("late data reopened a sealed date", extra={"dataset": dataset, "date": date})
    for entry in report.changed:
        log.warning("converted bytes of an input changed", extra=entry)
    return report


def _count(report: IngestReport, obj: ObjectInfo, verdict: Verdict) -> None:
    """Add a verdict to the report (a record it registers is counted by the store as new, too)."""
    if verdict.outcome == "changed":
        if all(entry["uri"] != obj.uri for entry in report.changed):  # once, however many passes
            report.changed.append({"uri": obj.uri, "reason": verdict.reason, "action": verdict.action})
    elif verdict.outcome == "continued":
        report.continued += 1
    elif verdict.outcome == "known":
        report.already_known += 1
    elif verdict.outcome == "unchanged":
        report.unchanged += 1
    elif verdict.outcome == "deferred":
        report.deferred += 1
