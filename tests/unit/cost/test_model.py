"""The cost model: hand-computed lines at unit prices, batching, monotonicity, each choice moving its own lines."""

from __future__ import annotations

import pytest

from ndjson2parquet.cost import DEPLOYMENT, Choices, Workload, batching, estimate, load_prices
from ndjson2parquet.cost.prices import REQUIRED, parse_table
from ndjson2parquet.domain.errors import ConfigError

DAYS = 365 / 12


@pytest.fixture(scope="module")
def unit_prices():  # type: ignore[no-untyped-def]
    """Every price $1 a unit: each line is then the quantity it counts."""
    prices = {name: {"usd": 1.0, "unit": "unit", "source": "test"} for name in REQUIRED}
    return parse_table({"region": "test-1", "as_of": "2026-12-01", "prices": prices})


@pytest.fixture(scope="module")
def prices():  # type: ignore[no-untyped-def]
    return load_prices("us-east-1")


def lines(est) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {line.component: line.usd for line in est.lines}


def test_a_slow_trickle_closes_a_manifest_every_max_wait() -> None:
    # 2,880 files a day arrive 10 every 300 s; 1 MiB files would fill 256 before the byte target
    plan = batching(Workload(2880, 1024), Choices())
    assert plan.closed_by == "max_wait"
    assert plan.files_per_manifest == pytest.approx(10)
    assert plan.manifests_per_day == pytest.approx(288)
    assert not plan.in_glue


def test_manifests_close_at_the_byte_target_then_at_max_files() -> None:
    by_bytes = batching(Workload(500_000, 1024), Choices())
    assert (by_bytes.closed_by, by_bytes.files_per_manifest) == ("target_bytes", 256)  # 256 MiB / 1 MiB
    by_count = batching(Workload(500_000, 1024), Choices(files_per_manifest=10))
    assert (by_count.closed_by, by_count.files_per_manifest) == ("max_files", 10)
    assert by_count.manifests_per_day == pytest.approx(50_000)


def test_a_manifest_above_2_gib_converts_in_glue() -> None:
    assert batching(Workload(10, 3 * 1024 * 1024), Choices()).in_glue  # one 3 GiB file a manifest
    assert batching(Workload(10, 1024), Choices(convert_in="glue")).in_glue
    assert not batching(Workload(10, 1024), Choices()).in_glue


def test_step_functions_line_is_eight_transitions_per_manifest(unit_prices) -> None:  # type: ignore[no-untyped-def]
    est = estimate(Workload(2880, 1024), Choices(), unit_prices)
    # 288 manifests a day x 30.42 days x 8 states entered (Start, Started, ChooseEngine, ConvertInLambda,
    # Converted, Commit, Committed, Done)
    assert lines(est)["Step Functions (Standard)"] == pytest.approx(288 * DAYS * 8)


def test_dynamodb_on_demand_line_counts_measured_units_per_file_and_manifest(unit_prices) -> None:  # type: ignore[no-untyped-def]
    est = estimate(Workload(2880, 1024), Choices(), unit_prices)
    write_units = 2880 * 10.23 + 288 * 29.1  # a day
    read_units = 2880 * 2.17 + 288 * 12.6
    assert lines(est)["DynamoDB requests (on-demand)"] == pytest.approx((write_units + read_units) * DAYS)


def test_landing_listing_reads_every_kept_object_at_every_listing(unit_prices) -> None:  # type: ignore[no-untyped-def]
    est = estimate(Workload(2880, 1024), Choices(listing_every_min=60, landing_days=2), unit_prices)
    objects, listings_a_day = 2880 * 2, 24
    # two consistent reads a known object: its uri index item, then its latest version
    assert lines(est)["DynamoDB reads: landing listing"] == pytest.approx(2 * objects * listings_a_day * DAYS)
    assert lines(est)["S3 LIST: landing listing"] == pytest.approx(6 * listings_a_day * DAYS)  # 5,760 keys: 6 pages


def test_storage_lines_hold_the_landing_days_and_a_month_of_parquet(unit_prices) -> None:  # type: ignore[no-untyped-def]
    est = estimate(Workload(1024, 1024), Choices(landing_days=3), unit_prices)  # 1 GiB a day
    assert lines(est)["S3 storage: landing (NDJSON)"] == pytest.approx(3.0)
    assert lines(est)["S3 storage: lake (Parquet)"] == pytest.approx(DAYS / 3.74)


def test_interface_endpoints_cost_hours_in_every_zone(unit_prices) -> None:  # type: ignore[no-untyped-def]
    est = estimate(Workload(1000, 10), Choices(), unit_prices)
    endpoint_hours = 3 * 2 * 730  # states, glue, logs in 2 AZs
    assert lines(est)["VPC interface endpoints"] == pytest.approx(endpoint_hours, rel=1e-3)  # + a few GB


def test_total_grows_with_files_and_with_their_size(prices) -> None:  # type: ignore[no-untyped-def]
    volumes = [1_000, 10_000, 100_000, 300_000, 500_000, 1_000_000]
    for kb in (10, 100, 1024):
        totals = [estimate(Workload(n, kb), Choices(), prices).total for n in volumes]
        assert totals == sorted(totals) and len(set(totals)) == len(totals)
    sizes = [1, 10, 100, 1024, 10_240]
    totals = [estimate(Workload(100_000, kb), Choices(), prices).total for kb in sizes]
    assert totals == sorted(totals) and len(set(totals)) == len(totals)


def _changed(prices, workload: Workload, before: Choices, after: Choices) -> set[str]:  # type: ignore[no-untyped-def]
    a, b = lines(estimate(workload, before, prices)), lines(estimate(workload, after, prices))
    return {name for name in a.keys() | b.keys() if a.get(name) != pytest.approx(b.get(name, -1.0))}


def test_provisioned_dynamodb_changes_only_dynamodb_lines(prices) -> None:  # type: ignore[no-untyped-def]
    changed = _changed(prices, Workload(500_000, 1024), Choices(), Choices(dynamodb="provisioned"))
    assert changed and all(name.startswith("DynamoDB") for name in changed)


def test_glue_flex_changes_only_the_glue_line_at_the_flex_rate(prices) -> None:  # type: ignore[no-untyped-def]
    workload = Workload(1000, 3 * 1024 * 1024)  # 3 GiB files: every manifest in Glue
    assert _changed(prices, workload, Choices(), Choices(glue_flex=True)) == {"Glue jobs"}
    standard = lines(estimate(workload, Choices(), prices))["Glue jobs"]
    flex = lines(estimate(workload, Choices(glue_flex=True), prices))["Glue jobs"]
    assert flex / standard == pytest.approx(0.29 / 0.44)
    # ordinary manifests never reach Glue: Flex changes nothing
    assert _changed(prices, Workload(500_000, 1024), Choices(), Choices(glue_flex=True)) == set()


def test_smaller_manifests_cost_more_per_manifest_lines_not_storage(prices) -> None:  # type: ignore[no-untyped-def]
    changed = _changed(prices, Workload(500_000, 1024), Choices(), Choices(files_per_manifest=10))
    per_manifest = {"Step Functions (Standard)", "Lambda: steps (start, convert, commit)"}
    per_manifest.add("DynamoDB requests (on-demand)")
    assert per_manifest <= changed
    assert not {"S3 storage: lake (Parquet)", "S3 storage: landing (NDJSON)", "Lambda: intake"} & changed


def test_sqs_batch_size_changes_the_intake_and_queue_lines(prices) -> None:  # type: ignore[no-untyped-def]
    changed = _changed(prices, Workload(500_000, 1024), Choices(), Choices(sqs_batch_size=10))
    assert {"Lambda: intake", "SQS (queue and DLQ)"} <= changed
    assert not any(name.startswith(("DynamoDB", "S3", "Step")) for name in changed)


def test_listing_more_often_changes_the_listing_and_recover_lines(prices) -> None:  # type: ignore[no-untyped-def]
    changed = _changed(prices, Workload(500_000, 1024), Choices(), Choices(listing_every_min=5))
    assert changed == {
        "DynamoDB reads: landing listing",
        "S3 LIST: landing listing",
        "Lambda: recover and seal (scheduled)",
    }


def test_intelligent_tiering_changes_only_the_lake_and_pays_off_on_old_data(prices) -> None:  # type: ignore[no-untyped-def]
    workload = Workload(500_000, 1024)
    year = Choices(lake_months=12)
    assert _changed(prices, workload, year, year.but(intelligent_tiering=True)) == {"S3 storage: lake (Parquet)"}
    standard = lines(estimate(workload, year, prices))["S3 storage: lake (Parquet)"]
    tiered = lines(estimate(workload, year.but(intelligent_tiering=True), prices))["S3 storage: lake (Parquet)"]
    assert tiered < standard / 2


def test_without_a_vpc_there_are_no_endpoints(prices) -> None:  # type: ignore[no-untyped-def]
    assert _changed(prices, Workload(1000, 10), Choices(), Choices(vpc=False)) == {"VPC interface endpoints"}


def test_a_listing_longer_than_the_recover_timeout_is_warned_about_with_the_days_that_fit(prices) -> None:  # type: ignore[no-untyped-def]
    assert not estimate(Workload(100_000, 1024), Choices(landing_days=14), prices).warnings
    # 15 M objects listed (0.2 s a page of 1,000) and 1.5 M looked up (0.3 ms each): 3,450 s
    warned = estimate(Workload(500_000, 1024), Choices(landing_days=30), prices).warnings
    assert any("beyond the recover Lambda's 900 s" in w and "at most 4.5 days of inputs" in w for w in warned)
    four_days = estimate(Workload(500_000, 1024), Choices(landing_days=4), prices).warnings  # 850 s: fits, near
    assert four_days and not any("beyond" in w for w in four_days)


def test_a_listing_looks_up_only_the_objects_of_the_lookback_but_lists_all_the_landing_keeps(unit_prices) -> None:  # type: ignore[no-untyped-def]
    est = estimate(Workload(2880, 1024), Choices(landing_days=30), unit_prices)
    lookback_days = DEPLOYMENT.listing_lookback_s / 86400  # 3 days: two failed daily listings still covered
    assert lines(est)["DynamoDB reads: landing listing"] == pytest.approx(2 * 2880 * lookback_days * DAYS)
    assert lines(est)["S3 LIST: landing listing"] == pytest.approx(87 * DAYS)  # 86,400 keys: 87 pages, once a day


def test_inputs_kept_past_the_archive_age_are_priced_in_glacier_ir_with_one_transition_each(unit_prices) -> None:  # type: ignore[no-untyped-def]
    gib_a_day = Workload(1024, 1024)
    kept_90 = lines(estimate(gib_a_day, Choices(landing_days=90), unit_prices))["S3 storage: landing (NDJSON)"]
    kept_120 = lines(estimate(gib_a_day, Choices(landing_days=120), unit_prices))["S3 storage: landing (NDJSON)"]
    assert kept_90 == pytest.approx(90.0)  # GB-months at the unit price, no transition yet
    assert kept_120 == pytest.approx(90.0 + 30.0 + 1024 * DAYS)  # + 30 days archived + a month of transitions


def test_the_goal_at_500k_files_of_1_mb_is_met_once_the_landing_expires_inputs(prices) -> None:  # type: ignore[no-untyped-def]
    kept = estimate(Workload(500_000, 1024), Choices(), prices)  # inputs kept: a month of them priced
    assert DEPLOYMENT.landing_expiration_days is None and kept.choices.landing_days == 30
    assert kept.total > 545
    assert estimate(Workload(500_000, 1024), Choices(landing_days=4), prices).total <= 545


@pytest.mark.parametrize(
    ("files", "kb", "choices"),
    [(0, 10, {}), (10, -1, {}), (10, 10, {"dynamodb": "reserved"}), (10, 10, {"files_per_manifest": 0})],
)
def test_bad_numbers_and_choices_are_config_errors(files: float, kb: float, choices: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError):
        estimate(Workload(files, kb), Choices(**choices))


def test_infinite_or_nan_numbers_are_config_errors() -> None:
    for files in (float("inf"), float("nan")):
        with pytest.raises(ConfigError):
            Workload(files, 10)
