"""Turn listed objects into PENDING file records: dataset and date read from each key."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..domain import clock
from ..domain.partitioning import Partitioner, arrival_date
from ..domain.records import FileRecord, ObjectInfo
from ..state.base import StateStore
from .sources import SKIPPED_NAMED, Source

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
        }


def to_records(
    objects: Iterable[ObjectInfo], partitioner: Partitioner, now: float, report: IngestReport | None = None
) -> Iterator[FileRecord]:
    """FileRecords for objects, lazily; dating fallbacks and undated files are counted in ``report``."""
    report = IngestReport() if report is None else report
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
        yield FileRecord.new(partitioner.dataset_of(obj.key), day, obj, now)


def ingest(
    source: Source,
    store: StateStore,
    partitioner: Partitioner,
    now: float | None = None,
    report: IngestReport | None = None,
) -> IngestReport:
    """List a landing zone and register every object; already registered versions change nothing.

    ``report``, when given, is filled as the listing goes (``listed`` grows while it runs).
    """
    report = IngestReport() if report is None else report
    at = clock.now() if now is None else now

    def counted(objects: Iterable[ObjectInfo]) -> Iterator[ObjectInfo]:
        for obj in objects:
            report.listed += 1
            yield obj

    result = store.register(to_records(counted(source.objects()), partitioner, at, report))
    report.new, report.already_known, report.late_dates = result.new, result.seen, result.late
    stats = getattr(source, "stats", None)
    report.skipped = getattr(stats, "skipped", 0)
    report.skipped_named = list(getattr(stats, "skipped_named", []))
    for dataset, date in result.late:
        log.warning("late data reopened a sealed date", extra={"dataset": dataset, "date": date})
    return report
