"""Turn listed objects into PENDING file records: dataset and date read from each key."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from ..config.settings import OnChanged
from ..domain import clock
from ..domain.partitioning import Partitioner, arrival_date
from ..domain.records import FileRecord, ObjectInfo
from ..state.base import StateStore
from .sources import SKIPPED_NAMED, Source, read_local_prefix
from .versions import Verdict, Versioner

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest pass saw.

    ``arrival_dated``: files whose key gives no date, partitioned by their arrival date (UTC);
    ``undated``: files an explicit ``--date-pattern`` gives no real date for: not registered at all
    (first `SKIPPED_NAMED` named, all counted in ``undated_count``).
    """

    listed: int = 0
    new: int = 0
    already_known: int = 0
    skipped: int = 0
    late_dates: list[tuple[str, str]] = field(default_factory=list)
    skipped_named: list[dict[str, str]] = field(default_factory=list)
    arrival_dated: int = 0
    arrival_dated_example: str | None = None
    undated_count: int = 0
    undated: list[str] = field(default_factory=list)
    older: int = 0  # listed, modified before the listing's lookback window: not checked against the store
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
            "skipped_files": self.skipped_named,
            "arrival_dated": self.arrival_dated,
            "arrival_dated_example": self.arrival_dated_example,
            "undated": self.undated_count,
            "undated_files": self.undated,
            "continued": self.continued,
            "unchanged": self.unchanged,
            "deferred": self.deferred,
            "unsettled": list(self.unsettled),
            "changed": list(self.changed),
        }


def _dated(
    objects: Iterable[ObjectInfo], partitioner: Partitioner, now: float, report: IngestReport
) -> Iterator[tuple[ObjectInfo, FileRecord]]:
    """Each object with its new FileRecord, lazily; dating fallbacks and undated files are counted in ``report``."""
    for obj in objects:
        day = partitioner.date_from_key(obj.key)
        if day is None and partitioner.strict:
            report.undated_count += 1
            if len(report.undated) < SKIPPED_NAMED:
                report.undated.append(obj.uri)
            if report.undated_count == 1:
                log.error("no --date-pattern gives a real date: file left out", extra={"example": obj.key})
            continue
        if day is None:
            day = arrival_date(obj.modified_at)
            report.arrival_dated += 1
            if report.arrival_dated == 1:  # once per run, with an example; the report counts them all
                report.arrival_dated_example = obj.key
                log.warning("no date in the key: the arrival date (UTC) is used", extra={"example": obj.key})
        yield obj, FileRecord.new(partitioner.dataset_of(obj.key), day, obj, now)


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
    modified_since: float | None = None,
) -> IngestReport:
    """List a landing zone and register every object; already registered versions change nothing.

    ``report``, when given, is filled as the listing goes (``listed`` grows while it runs); counts
    add up over several passes with the same report. ``settle_s``: a file of a source whose objects
    can change (a local folder) is registered only once it was not modified for that long; the
    younger ones are listed in ``unsettled``. What happens to files that change: ``versions``;
    ``unchanged``, kept by a caller that lists again and again, spares hashing a touched file again.
    ``modified_since`` (a time): objects last modified before it are counted in ``older`` and not
    looked up in the store at all (an earlier listing covered them; a new version of an object has a
    new modification time); None: every object is checked.
    """
    report = IngestReport() if report is None else report
    at = clock.now() if now is None else now
    settle = settle_s if getattr(source, "mutable", False) else 0.0
    reader = getattr(source, "read_prefix", read_local_prefix)
    versioner = Versioner(store, reader, on_changed, unchanged)
    report.unsettled = []

    def settled(objects: Iterable[ObjectInfo]) -> Iterator[ObjectInfo]:
        for obj in objects:
            report.listed += 1
            if modified_since is not None and obj.modified_at < modified_since:
                report.older += 1
                continue
            if settle and at - obj.modified_at < settle:
                report.unsettled.append(obj.uri)
                continue
            yield obj

    def records(objects: Iterable[ObjectInfo]) -> Iterator[FileRecord]:
        # the uris of a chunk are looked up together: a uri never seen costs no request of its own
        stream = _dated(objects, partitioner, at, report)
        while chunk := list(islice(stream, store.write_chunk)):
            known = store.versions_of([r.uri for _, r in chunk], {r.uri: r.file_id for _, r in chunk})
            for obj, record in chunk:
                versions = known.get(obj.uri)
                if not versions:
                    yield record
                    continue
                verdict = versioner.decide(obj, record, versions, at)
                _count(report, obj, verdict)
                if verdict.record is not None:
                    yield verdict.record

    result = store.register(records(settled(source.objects())))
    report.new += result.new
    report.already_known += result.seen
    report.late_dates = sorted({*report.late_dates, *result.late})
    stats = getattr(source, "stats", None)
    report.skipped = getattr(stats, "skipped", 0)
    report.skipped_named = list(getattr(stats, "skipped_named", []))
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
