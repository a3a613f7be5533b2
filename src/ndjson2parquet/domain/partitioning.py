"""Which dataset and date partition a file belongs to, read from its key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

from .errors import ConfigError

# The recognised layouts, tried in order; each names year, month and day groups. The last one is a
# date anywhere in the file name (`app-2026-11-23.ndjson`), so a folder layout always wins over it.
DEFAULT_DATE_PATTERNS: tuple[str, ...] = (
    r"(?:^|/)year=(?P<year>\d{4})/month=(?P<month>\d{1,2})/day=(?P<day>\d{1,2})(?:/|$)",
    r"(?:^|/)(?:date|dt)=(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?:/|$)",
    r"(?:^|/)(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?:/|$|[_T.])",
    r"(?:^|/)(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})(?:/|$)",
    r"(?<![0-9])(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?![0-9])[^/]*$",
)
# Text a default pattern cannot match without: a key lacking all of it skips that pattern's search (an
# `in` costs a fraction of a search, and registering 100,000 files dates each of them).
_NEEDS: dict[str, tuple[str, ...]] = {DEFAULT_DATE_PATTERNS[0]: ("year=",), DEFAULT_DATE_PATTERNS[1]: ("date=", "dt=")}


@dataclass(frozen=True)
class Partitioner:
    """Reads a date from a key with the first matching pattern; the arrival date (UTC) otherwise.

    `dataset_pattern`, when given, is a regex with a `dataset` group read from the key;
    otherwise every file belongs to `default_dataset`. `strict` (set for a user's `--date-pattern`):
    a key no pattern gives a real date for has no date at all (`date_from_key` is None and callers
    leave the file out) instead of falling back to its arrival date.
    """

    date_patterns: tuple[str, ...] = DEFAULT_DATE_PATTERNS
    dataset_pattern: str | None = None
    default_dataset: str = "default"
    strict: bool = False

    def __post_init__(self) -> None:
        try:
            compiled = tuple(re.compile(p) for p in self.date_patterns)
            dataset_re = re.compile(self.dataset_pattern) if self.dataset_pattern else None
        except re.error as exc:
            raise ConfigError(f"bad partition pattern: {exc}") from exc
        for regex in compiled:
            if not {"year", "month", "day"} <= set(regex.groupindex):
                raise ConfigError(f"date pattern {regex.pattern!r} needs groups year, month and day")
        if dataset_re is not None and "dataset" not in dataset_re.groupindex:
            raise ConfigError(f"dataset pattern {self.dataset_pattern!r} needs a group named dataset")
        needs = tuple(_NEEDS.get(p, ()) for p in self.date_patterns)
        object.__setattr__(self, "_compiled", tuple(zip(compiled, needs, strict=True)))
        object.__setattr__(self, "_dataset_re", dataset_re)

    def date_from_key(self, key: str) -> str | None:
        """YYYY-MM-DD read from the key by the first pattern giving a real date; None if none does."""
        for regex, needs in self._compiled:  # type: ignore[attr-defined]
            if needs:
                for text in needs:
                    if text in key:
                        break
                else:
                    continue  # the pattern cannot match
            match = regex.search(key)
            if match:
                day = _iso_date(match["year"], match["month"], match["day"])
                if day is None:
                    continue  # 2026-13-45 is not a date: try the next layout
                return day
        return None

    def dataset_of(self, key: str) -> str:
        """The dataset named in the key, or the default one."""
        if self._dataset_re is not None:  # type: ignore[attr-defined]
            match = self._dataset_re.search(key)  # type: ignore[attr-defined]
            if match and match["dataset"]:
                return match["dataset"]
        return self.default_dataset


@lru_cache(maxsize=4096)
def _iso_date(year: str, month: str, day: str) -> str | None:
    """YYYY-MM-DD of the digits read from a key, or None when they are no date (a few dates recur: cached)."""
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def arrival_date(arrived_at: float) -> str:
    """The UTC date of an epoch time, YYYY-MM-DD."""
    return datetime.fromtimestamp(arrived_at, UTC).date().isoformat()
