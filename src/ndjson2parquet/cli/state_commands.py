"""Commands about the state: ingest, status, ledger, verify."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config.settings import OnChanged
from ..domain.errors import ConfigError
from ..ingest.registration import ingest
from ..ingest.sources import open_source
from ..state import DYNAMODB_SCHEME, open_store
from ..workflow.report import ExitStatus
from . import render
from .options import build_partitioner, change_options, existing_store, partition_options, refuse_inside, state_option


@click.command("ingest")
@click.option("--input", "input_", required=True, metavar="PATH", help="Landing folder, or s3://bucket/prefix.")
@state_option()
@partition_options
@change_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def ingest_command(
    input_: str,
    state: str,
    dataset: str,
    dataset_pattern: str | None,
    date_patterns: tuple[str, ...],
    settle_seconds: float,
    on_changed: str,
    as_json: bool,
) -> None:
    """Register the files of a landing zone as PENDING (the same version twice changes nothing)."""
    partitioner = build_partitioner(dataset, dataset_pattern, date_patterns)
    source = open_source(input_)
    if not state.startswith(DYNAMODB_SCHEME):
        refuse_inside(source, {"state": Path(state)})
        Path(state).resolve().parent.mkdir(parents=True, exist_ok=True)  # as `run` creates <output>/_state
    store = open_store(state)
    try:
        report = ingest(source, store, partitioner, settle_s=settle_seconds, on_changed=OnChanged(on_changed))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        click.echo(
            f"listed {report.listed} file(s): {report.new} new, {report.already_known} already known"
            + (f", {report.skipped} skipped" if report.skipped else "")
        )
        for dataset_name, date in report.late_dates:
            click.echo(f"late data: {dataset_name}/{date} was sealed and is open again")
        for entry in report.changed:
            click.echo(f"changed: {entry['uri']}: {entry['reason']} ({entry['action']})")
        if report.unsettled:
            click.echo(f"{len(report.unsettled)} file(s) still being written (not registered yet)")
        for uri in report.undated:
            click.echo(f"undated (no --date-pattern gives a real date), not registered: {uri}")
    if report.undated_count:
        sys.exit(int(ExitStatus.PROBLEMS))


@click.command("status")
@state_option()
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"files": …, "manifests": …, "dates": […], "failed": […], "rejected": […]}.',
)
def status_command(state: str, as_json: bool) -> None:
    """Files and manifests per state, every date with its counts and seal, FAILED and REJECTED files listed."""
    store = existing_store(state, read_only=True)
    try:
        snapshot = render.status_snapshot(store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(snapshot, indent=2))
    else:
        render.print_status(snapshot)


@click.command("ledger")
@click.argument("file", metavar="FILE")
@state_option()
@click.option("--json", "as_json", is_flag=True, help="Print every version's ledger as JSON.")
def ledger_command(file: str, state: str, as_json: bool) -> None:
    """Where FILE's lines went: its manifest, its Parquet files, its counts, its rejection if any."""
    store = existing_store(state, read_only=True)
    try:
        uri = file if file.startswith("s3://") else str(Path(file).resolve())
        versions = [render.ledger_entry(r) for r in store.files_by_uri(uri)]
    finally:
        store.close()
    if not versions:
        raise ConfigError(f"no file {uri} in the state store")
    if as_json:
        click.echo(json.dumps({"uri": uri, "versions": versions}, indent=2))
    else:
        render.print_ledger(uri, versions)


@click.command("verify")
@state_option()
@click.option("--date", "dates", multiple=True, metavar="YYYY-MM-DD", help="Only these dates (repeatable).")
@click.option("--dataset", default=None, help="Only this dataset.")
@click.option("--json", "as_json", is_flag=True)
def verify_command(state: str, dates: tuple[str, ...], dataset: str | None, as_json: bool) -> None:
    """Re-read inputs and outputs and confirm every line is accounted for (exit 1 if not)."""
    from ..conversion.inputs import read_local
    from ..storage import any_storage, is_s3
    from ..workflow.verify import verify_date

    storage = any_storage()  # parts, quarantine files and inputs may be on S3

    def opener(uri: str) -> bytes:
        return storage.read_bytes(uri) if is_s3(uri) else read_local(uri)

    store = existing_store(state, read_only=True)
    try:
        targets = [(s.dataset, s.date) for s in store.dates(dataset) if not dates or s.date in dates]
        if dates and not targets:
            raise ConfigError(f"no such date in the state store: {', '.join(dates)}")
        reports = [verify_date(store, ds, day, opener, storage) for ds, day in targets]
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        for r in reports:
            waiting = ", ".join(f"{n} {state}" for state, n in r.not_converted.items())
            click.echo(
                f"{r.dataset}/{r.date}: {'OK' if r.ok else 'PROBLEMS'} — {r.files_checked} file(s), {r.lines} line(s):"
                f" {r.rows_written} rows, {r.rows_quarantined} quarantined"
                + (f"; not converted: {waiting}" if waiting else "")
            )
            for problem in r.problems:
                click.echo(f"  {problem}")
    if not all(r.ok for r in reports):
        sys.exit(1)


COMMANDS = [ingest_command, status_command, ledger_command, verify_command]
