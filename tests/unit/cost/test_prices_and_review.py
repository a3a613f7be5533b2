"""The dated price tables and the review's quoted table."""

from __future__ import annotations

import pytest

from ndjson2parquet.cost import load_prices, regions
from ndjson2parquet.cost.prices import REQUIRED, parse_table
from ndjson2parquet.cost.review import (
    CATEGORIES,
    GOAL_USD,
    REVIEW,
    REVIEW_TOTALS,
    VOLUMES,
    compare,
    implied_file_mb,
    scenarios,
)
from ndjson2parquet.domain.errors import ConfigError


def test_every_region_table_is_dated_and_every_price_has_a_source() -> None:
    assert "us-east-1" in regions()
    for region in regions():
        table = load_prices(region)
        assert table.region == region and table.as_of.startswith("20")
        assert set(REQUIRED) <= set(table.prices)
        assert all(p.source.startswith("https://aws.amazon.com/") for p in table.prices.values())


def test_an_unknown_region_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"no price table for region 'mars-1' \(known: .*us-east-1"):
        load_prices("mars-1")


def test_a_table_missing_a_price_or_a_source_is_refused() -> None:
    full = {name: {"usd": 1.0, "source": "x"} for name in REQUIRED}
    with pytest.raises(ConfigError, match="lacks sqs_request"):
        parse_table({"region": "r", "as_of": "d", "prices": {k: v for k, v in full.items() if k != "sqs_request"}})
    with pytest.raises(ConfigError, match="needs a positive usd and a source"):
        parse_table({"region": "r", "as_of": "d", "prices": full | {"sqs_request": {"usd": 0.4}}})


def test_the_review_table_adds_up_to_its_printed_totals() -> None:
    for volume in VOLUMES:
        assert sum(REVIEW[volume][c] for c in CATEGORIES) == REVIEW_TOTALS[volume]
    assert GOAL_USD == 545


def test_the_review_s3_line_implies_about_a_megabyte_a_file() -> None:
    prices = load_prices("us-east-1")
    for volume in (100_000, 500_000):
        assert 0.9 < implied_file_mb(volume, prices) < 1.4


def test_compare_sets_each_review_volume_beside_ours() -> None:
    rows = compare(1024, None, load_prices("us-east-1"))
    assert [r.files_per_day for r in rows] == list(VOLUMES)
    for row in rows:
        assert row.review == REVIEW[row.files_per_day]
        assert sum(row.ours.values()) == pytest.approx(row.our_total)
        assert row.ratio == pytest.approx(row.our_total / row.review_total)


def test_scenarios_go_from_the_review_shape_to_ours_and_to_the_goal_once_inputs_expire() -> None:
    found = scenarios(1024, load_prices("us-east-1"))
    assert not found[0].meets_goal  # Glue for every 10-file manifest
    ours = next(s for s in found if "(= ours)" in s.label)
    assert ours.total < found[0].total / 20
    assert not ours.meets_goal  # a month of 1 MB inputs kept in the landing: 14.6 TB in S3 Standard
    assert next(s for s in found if "expired after 4 days" in s.label).meets_goal
    assert not next(s for s in found if "every 5-minute" in s.label).meets_goal
