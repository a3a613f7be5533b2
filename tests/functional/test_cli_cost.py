"""`ndjson2parquet cost` through click's runner: the table, the JSON document, and one-line errors."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from ndjson2parquet.cli.main import cli


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["cost", *args], catch_exceptions=False)


def test_json_has_components_summing_to_the_total_and_the_review_beside_ours() -> None:
    result = invoke("--files-per-day", "500000", "--avg-file-kb", "1024", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert abs(report["total_usd"] - sum(c["monthly_usd"] for c in report["components"])) < 0.05  # rounded lines
    assert [r["files_per_day"] for r in report["review"]] == [1000, 100000, 500000]
    assert [r["review_total_usd"] for r in report["review"]] == [41, 1280, 5450]
    assert report["review"][2]["our_total_usd"] == report["total_usd"]  # the same volume and choices
    assert report["goal"] == {
        "files_per_day": 500000,
        "avg_file_kb": 1024,
        "max_usd": 545,
        "our_usd": report["total_usd"],
        "met": report["total_usd"] <= 545,
    }
    assert report["prices"]["region"] == "us-east-1" and report["prices"]["as_of"]
    assert any(a.startswith("dynamodb_wru_per_file: 10.23") and "bench_lifecycle" in a for a in report["assumptions"])
    assert report["scenarios"][0]["meets_goal"] is False


def test_options_reach_the_model() -> None:
    base = json.loads(invoke("--files-per-day", "500000", "--avg-file-kb", "1024", "--format", "json").output)
    provisioned = json.loads(
        invoke(
            "--files-per-day", "500000", "--avg-file-kb", "1024", "--dynamodb", "provisioned", "--format", "json"
        ).output
    )
    names = {c["component"] for c in provisioned["components"]}
    assert "DynamoDB capacity (provisioned)" in names and provisioned["total_usd"] != base["total_usd"]
    small = json.loads(
        invoke(
            "--files-per-day", "500000", "--avg-file-kb", "1024", "--files-per-manifest", "10", "--format", "json"
        ).output
    )
    assert small["batching"]["files_per_manifest"] == 10 and small["batching"]["closed_by"] == "max_files"
    flex = json.loads(
        invoke("--files-per-day", "100", "--avg-file-kb", "3145728", "--glue-flex", "--format", "json").output
    )
    assert flex["choices"]["glue_flex"] is True and flex["batching"]["in_glue"] is True


def test_table_shows_components_the_review_the_goal_and_the_assumptions() -> None:
    result = invoke("--files-per-day", "100000", "--avg-file-kb", "1024")
    assert result.exit_code == 0, result.output
    expected = ("a month, per component", "Step Functions", "review", "goal: 500,000 files a day of 1,024 KB")
    for text in (*expected, "assumptions:"):
        assert text in result.output
    assert "prices as of" in result.output


def test_an_unknown_region_is_one_line_and_exit_1() -> None:
    result = CliRunner().invoke(cli, ["cost", "--files-per-day", "10", "--avg-file-kb", "1", "--region", "mars-1"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "no price table for region 'mars-1'" in result.output


def test_bad_numbers_are_one_line_errors() -> None:
    negative = CliRunner().invoke(cli, ["cost", "--files-per-day", "-5", "--avg-file-kb", "1"])
    assert negative.exit_code == 1 and "must be positive" in negative.output
    assert negative.output.strip().count("\n") == 0
    not_a_number = CliRunner().invoke(cli, ["cost", "--files-per-day", "many", "--avg-file-kb", "1"])
    assert not_a_number.exit_code == 2 and "'many' is not a valid float" in not_a_number.output
    bad_mode = CliRunner().invoke(cli, ["cost", "--files-per-day", "1", "--avg-file-kb", "1", "--dynamodb", "free"])
    assert bad_mode.exit_code == 2
    zero_batch = CliRunner().invoke(
        cli, ["cost", "--files-per-day", "1", "--avg-file-kb", "1", "--files-per-manifest", "0"]
    )
    assert zero_batch.exit_code == 1 and "files per manifest must be at least 1" in zero_batch.output
