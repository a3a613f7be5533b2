"""Dataset and date partition read from keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ndjson2parquet.domain.errors import ConfigError
from ndjson2parquet.domain.partitioning import Partitioner, arrival_date

ARRIVAL = datetime(2026, 11, 25, 23, 59, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("key", "date"),
    [
        ("2026-11-24/events-1.ndjson", "2026-11-24"),
        ("app/2026/11/23/x.jsonl.gz", "2026-11-23"),
        ("year=2026/month=1/day=2/x.json", "2026-01-02"),
        ("logs/2026-10-01T12:00:00Z.ndjson", "2026-10-01"),
        ("no-date-here.ndjson", "2026-11-25"),  # arrival date, UTC
        ("2026-13-45/bad-date.ndjson", "2026-11-25"),  # not a real date: arrival date
    ],
)
def test_default_layouts_give_the_date_and_fall_back_to_arrival(key: str, date: str) -> None:
    assert (Partitioner().date_from_key(key) or arrival_date(ARRIVAL)) == date


def test_custom_pattern_replaces_the_defaults() -> None:
    p = Partitioner(date_patterns=(r"dt=(?P<year>\d{4})(?P<month>\d\d)(?P<day>\d\d)",))
    assert (p.date_from_key("a/dt=20250704/x.ndjson") or arrival_date(ARRIVAL)) == "2025-07-04"
    assert (p.date_from_key("2026-11-24/x.ndjson") or arrival_date(ARRIVAL)) == "2026-11-25"


def test_dataset_is_read_from_the_key_when_a_pattern_is_given() -> None:
    p = Partitioner(dataset_pattern=r"^(?P<dataset>[a-z]+)/")
    assert p.dataset_of("clicks/2026-11-24/x.ndjson") == "clicks"
    assert Partitioner().dataset_of("clicks/x.ndjson") == "default"


@pytest.mark.parametrize("pattern", [r"(?P<year>\d{4})", r"(unclosed"])
def test_bad_patterns_are_config_errors(pattern: str) -> None:
    with pytest.raises(ConfigError):
        Partitioner(date_patterns=(pattern,))


@pytest.mark.parametrize(
    ("key", "date"),
    [
        ("dt=2026-11-23/x.ndjson", "2026-11-23"),
        ("events/date=2026-11-22/part/x.ndjson", "2026-11-22"),
        ("logs/app-2026-11-21.ndjson", "2026-11-21"),
        ("logs/app_2026-11-20_03.jsonl.gz", "2026-11-20"),
        ("dt=2026-11-23/app-2026-11-01.ndjson", "2026-11-23"),  # a folder layout wins over the file name
        ("2026-11-19-archive/x.ndjson", "2026-11-25"),  # a date in a folder name that is no layout: arrival
        ("logs/build-12026-11-21.ndjson", "2026-11-25"),  # digits glued on: not a date
    ],
)
def test_date_and_dt_folders_and_a_date_in_the_file_name_are_recognised(key: str, date: str) -> None:
    assert (Partitioner().date_from_key(key) or arrival_date(ARRIVAL)) == date


def test_date_from_key_is_none_when_no_layout_gives_a_real_date() -> None:
    assert Partitioner().date_from_key("2026-13-45/x.ndjson") is None
    assert Partitioner().date_from_key("x.ndjson") is None


def test_skipping_a_pattern_whose_text_a_key_lacks_dates_every_key_as_trying_each_pattern_does() -> None:
    import datetime as dt
    import itertools
    import re

    from ndjson2parquet.domain.partitioning import DEFAULT_DATE_PATTERNS

    def reference(key: str) -> str | None:  # every pattern searched, in order
        for pattern in DEFAULT_DATE_PATTERNS:
            match = re.search(pattern, key)
            if match:
                try:
                    return dt.date(int(match["year"]), int(match["month"]), int(match["day"])).isoformat()
                except ValueError:
                    continue
        return None

    folders = ["year=2026/month=11/day=24", "YEAR=2026/month=11/day=24", "date=2026-11-23", "dt=2026-02-30",
               "xdt=2026-11-22", "2026-11-21", "2026/11/20", "2026-13-45", "logs", ""]  # fmt: skip
    names = ["x.ndjson", "app-2026-11-19.ndjson", "dt=2026-11-18", "day=17", "2026-11-16_03.json"]
    keys = [f"{a}/{b}/{n}".strip("/") for a, b, n in itertools.product(folders, [*folders[:4], ""], names)]
    partitioner = Partitioner()
    assert [partitioner.date_from_key(k) for k in keys] == [reference(k) for k in keys]
    assert sum(reference(k) is not None for k in keys) > len(keys) // 2
