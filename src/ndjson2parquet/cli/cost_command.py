"""`ndjson2parquet cost`: what the AWS deployment costs a month, beside the review's table (its 6.3)."""

from __future__ import annotations

import json
from typing import Any

import click

from ..cost import Choices, Workload, load_prices
from ..cost.components import NOT_IN_REVIEW
from ..cost.deployment import DEPLOYMENT
from ..cost.model import CONVERT_CHOICES, DYNAMODB_MODES
from ..cost.report import cost_report
from ..cost.review import CATEGORIES, GOAL_USD, REVIEW_FILE_KB


@click.command("cost")
@click.option("--files-per-day", type=float, required=True, metavar="N", help="Files landing a day.")
@click.option("--avg-file-kb", type=float, required=True, metavar="K", help="Average input file size in KB.")
@click.option("--region", default="us-east-1", show_default=True, help="Region of the price table.")
@click.option("--dynamodb", type=click.Choice(DYNAMODB_MODES), default=DEPLOYMENT.dynamodb_billing, show_default=True)
@click.option("--glue-flex", is_flag=True, help="Glue runs (manifests above 2 GiB) with the Flex execution class.")
@click.option(
    "--files-per-manifest",
    type=int,
    default=DEPLOYMENT.batch.max_files,
    show_default=True,
    metavar="M",
    help="The batch policy's max_files (a manifest also closes at 256 MiB or after 5 minutes).",
)
@click.option(
    "--convert-in",
    type=click.Choice(CONVERT_CHOICES),
    default="auto",
    show_default=True,
    help="auto: Lambda up to 2 GiB a manifest, Glue above (the state machine); glue: every manifest in Glue.",
)
@click.option("--sqs-batch-size", type=int, default=DEPLOYMENT.sqs_batch_size, show_default=True)
@click.option(
    "--listing-every",
    "listing_every_min",
    type=int,
    default=DEPLOYMENT.landing_listing_every_min,
    show_default=True,
    metavar="MINUTES",
    help="How often a recover pass lists the landing prefix.",
)
@click.option(
    "--landing-days",
    type=int,
    default=Choices().landing_days,
    show_default=True,
    help="Days of inputs the landing holds (its expiration; inputs kept: a month of them is priced).",
)
@click.option("--lake-months", type=int, default=1, show_default=True, help="Months of Parquet kept in the lake.")
@click.option("--intelligent-tiering", is_flag=True, help="The lake in S3 Intelligent-Tiering (review Q22).")
@click.option(
    "--vpc/--no-vpc", default=DEPLOYMENT.vpc, show_default=True, help="Lambdas in a VPC (interface endpoints)."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def cost_command(files_per_day: float, avg_file_kb: float, region: str, fmt: str, **choices: Any) -> None:
    """A month of the AWS deployment in dollars per component, the review's table beside ours at 1K, 100K and
    500K files a day, the choices that reach the goal ($545 a month at 500K), and every assumption."""
    prices = load_prices(region)
    report = cost_report(Workload(files_per_day, avg_file_kb), Choices(**choices), prices)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        print_report(report)


def print_report(report: dict[str, Any]) -> None:
    """The report as tables and lists."""
    from rich.console import Console  # only the commands that draw tables load it
    from rich.table import Table

    out = Console()
    inputs, batching = report["inputs"], report["batching"]
    out.print(
        f"{inputs['files_per_day']:,.0f} files a day of {inputs['avg_file_kb']:,.0f} KB in {inputs['region']} "
        f"(prices as of {report['prices']['as_of']}): {batching['files_per_manifest']:,.1f} files a manifest "
        f"(closed by {batching['closed_by']}), {batching['manifests_per_day']:,.1f} manifests a day",
        soft_wrap=True,
    )
    lines = Table(title="a month, per component", show_edge=False)
    for name, justify in (("component", "left"), ("USD a month", "right"), ("what", "left")):
        lines.add_column(name, justify=justify)  # type: ignore[arg-type]
    for line in report["components"]:
        lines.add_row(line["component"], f"{line['monthly_usd']:,.2f}", line["detail"])
    lines.add_row("total", f"{report['total_usd']:,.2f}", "")
    out.print(lines)
    side = Table(
        title=f"the review's table (6.3) beside ours, at {inputs['avg_file_kb']:,.0f} KB a file", show_edge=False
    )
    side.add_column("component")
    for row in report["review"]:
        side.add_column(f"{row['files_per_day'] // 1000}K review", justify="right")
        side.add_column(f"{row['files_per_day'] // 1000}K ours", justify="right")
    for category in (*CATEGORIES, NOT_IN_REVIEW):
        cells = []
        for row in report["review"]:
            theirs = row["review_usd"].get(category)
            cells += ["-" if theirs is None else f"{theirs:,.0f}", f"{row['ours_usd'].get(category, 0.0):,.2f}"]
        side.add_row(category, *cells)
    totals = []
    for row in report["review"]:
        totals += [f"{row['review_total_usd']:,.0f}", f"{row['our_total_usd']:,.2f}"]
    side.add_row("total", *totals)
    side.add_row("ours / review", *[c for row in report["review"] for c in ("", f"{row['ratio']:.3f}")])
    out.print(side)
    goal = report["goal"]
    verdict = "met" if goal["met"] else "NOT met"
    out.print(
        f"goal: 500,000 files a day of {goal['avg_file_kb']:,.0f} KB for at most ${GOAL_USD:,.0f} a month: "
        f"${goal['our_usd']:,.2f} ({verdict}; the review's size, read from its S3 line: {REVIEW_FILE_KB:,.0f} KB)",
        soft_wrap=True,
    )
    choices = Table(title=f"choices at 500,000 files a day of {goal['avg_file_kb']:,.0f} KB", show_edge=False)
    for name, justify in (("choices", "left"), ("USD a month", "right"), ("goal", "left")):
        choices.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in report["scenarios"]:
        choices.add_row(s["label"], f"{s['total_usd']:,.0f}", "met" if s["meets_goal"] else "not met")
    out.print(choices)
    for warning in report["warnings"]:
        out.print(f"warning: {warning}", soft_wrap=True)
    out.print("assumptions:")
    for text in report["assumptions"]:
        out.print(f"- {text}", soft_wrap=True, markup=False)
