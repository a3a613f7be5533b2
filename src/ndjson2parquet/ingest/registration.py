"""Turn listed objects into PENDING file records: dataset and date read from each key."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..domain import clock
from ..domain.partitioning import Partitioner
from ..domain.records import FileRecord, ObjectInfo
from ..state.base import StateStore
from .sources import Source

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest pass saw."""

    listed: int = 0
    new: int = 0
    already_known: int = 0
    skipped: int = 0
    late_dates: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {
            "listed": self.listed,
            "new": self.new,
            "already_known": self.already_known,
            "skipped": self.skipped,
            "late_dates": [f"{d}/{day}" for d, day in self.late_dates],
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

    result = store.register(to_records(counted(source.objects()), partitioner, at))
    report.new, report.already_known, report.late_dates = result.new, result.seen, result.late
    report.skipped = getattr(getattr(source, "stats", None), "skipped", 0)
    for dataset, date in result.late:
        log.warning("late data reopened a sealed date", extra={"dataset": dataset, "date": date})
    return report
