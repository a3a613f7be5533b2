"""Commands that move data: run, watch, recover, retry, generate."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from ..config.settings import BatchPolicy, ConversionOptions, OnChanged, RunOptions, StorePolicy
from ..domain.errors import ConfigError
from ..ingest.sources import open_source
from ..state import open_store
from ..workflow.executor import Layout
from ..workflow.pipeline import Pipeline
from . import logs, progress
from .options import build_partitioner, change_options, existing_store, partition_options, state_option

MiB = 1024 * 1024

_PIPELINE_OPTIONS = [
    click.option("--input", "input_", required=True, metavar="PATH", help="Landing folder, or s3://bucket/prefix."),
    click.option("--output", required=True, metavar="PATH", help="The Parquet lake: <output>/<dataset>/date=…/."),
    click.option("--quarantine", default=None, metavar="PATH", help="Bad lines go here [<output>/_quarantine]."),
    click.option(
        "--state",
        default=None,
        metavar="PATH",
        envvar="NDJSON2PARQUET_STATE",
        help="SQLite state file or dynamodb://TABLE [<output>/_state/state.db].",
    ),
    click.option(
        "--compression",
        type=click.Choice(["snappy", "zstd", "gzip", "lz4", "none"]),
        default="snappy",
        show_default=True,
    ),
    click.option(
        "--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Manifests converted at once."
    ),
    click.option(
        "--max-files",
        type=click.IntRange(1),
        default=BatchPolicy.max_files,
        show_default=True,
        help="A manifest closes at this many files.",
    ),
    click.option(
        "--target-mb",
        type=click.FloatRange(0.001),
        default=BatchPolicy.target_bytes / MiB,
        show_default=True,
        help="…or at this many MB of input.",
    ),
    click.option(
        "--max-wait",
        type=click.FloatRange(0),
        default=BatchPolicy.max_wait_s,
        show_default=True,
        help="…or when its oldest file has waited this many seconds.",
    ),
    click.option(
        "--grace-hours",
        type=click.FloatRange(0),
        default=BatchPolicy.grace_period_s / 3600,
        show_default=True,
        help="After a day ends, late data is awaited this long; then it is sealed.",
    ),
    click.option(
        "--max-attempts",
        type=click.IntRange(1),
        default=StorePolicy.max_attempts,
        show_default=True,
        help="Failed manifests a file survives before it is FAILED.",
    ),
    click.option(
        "--row-group-rows", type=click.IntRange(1), default=ConversionOptions.row_group_rows, show_default=True
    ),
    click.option(
        "--file-mb",
        type=click.FloatRange(0.001),
        default=ConversionOptions.target_file_bytes / MiB,
        show_default=True,
        help="A Parquet part closes past this many MB of input.",
    ),
    click.option(
        "--max-line-mb",
        type=click.FloatRange(0.001),
        default=ConversionOptions.max_line_bytes / MiB,
        show_default=True,
        help="Longer lines are quarantined.",
    ),
    click.option(
        "--schema-file",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="JSON schema fixing the types of the fields it lists (see README).",
    ),
    click.option("--lineage", is_flag=True, help="Add _source_file and _source_line columns."),
    click.option(
        "--strict", is_flag=True, help="Quarantine rows with values that do not fit instead of rescuing them."
    ),
    click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON instead of a summary."),
    click.option("--log-format", type=click.Choice(["text", "json"]), default=None, help="Log lines as text or JSON."),
]


def pipeline_options(fn: Any) -> Any:
    """Attach every pipeline option to a command."""
    for option in reversed(_PIPELINE_OPTIONS):
        fn = option(fn)
    return change_options(partition_options(fn))


def build_pipeline(kw: dict[str, Any]) -> tuple[Pipeline, Any, Path]:
    """Typed settings, store, engine and source from the parsed options (arguments beat the env)."""
    from ..conversion.arrow_engine import ArrowEngine
    from ..conversion.schema import load_schema_file

    if kw["log_format"]:
        logs.setup(kw["log_format"])
    if kw["schema_file"]:
        load_schema_file(kw["schema_file"])  # a bad schema file stops here, not in every manifest
    output = Path(kw["output"]).resolve()
    if output.exists() and not output.is_dir():
        raise ConfigError(f"output is not a folder: {output}")
    source = open_source(kw["input_"])
    options = RunOptions(
        batch=BatchPolicy(
            max_files=kw["max_files"],
            target_bytes=int(kw["target_mb"] * MiB),
            max_wait_s=kw["max_wait"],
            grace_period_s=kw["grace_hours"] * 3600,
        ),
        store=StorePolicy(max_attempts=kw["max_attempts"]),
        conversion=ConversionOptions(
            compression=kw["compression"],
            row_group_rows=kw["row_group_rows"],
            target_file_bytes=int(kw["file_mb"] * MiB),
            max_line_bytes=int(kw["max_line_mb"] * MiB),
            lineage=kw["lineage"],
            strict=kw["strict"],
            schema_file=kw["schema_file"],
        ),
        partitioner=build_partitioner(kw["dataset"], kw["dataset_pattern"], kw["date_patterns"]),
        workers=kw["workers"],
        settle_s=kw["settle_seconds"],
        on_changed=OnChanged(kw["on_changed"]),
    )
    state = kw["state"]
    if state is None:
        (output / "_state").mkdir(parents=True, exist_ok=True)
        state = str(output / "_state" / "state.db")
    quarantine = Path(kw["quarantine"]).resolve() if kw["quarantine"] else output / "_quarantine"
    store = open_store(state, policy=options.store)
    layout = Layout(str(output), str(quarantine))
    return Pipeline(store, ArrowEngine(), layout, options), source, output


@click.command("run")
@pipeline_options
def run_command(**kw: Any) -> None:
    """Convert everything in the landing zone once: ingest, batch, convert, flush, seal, report."""
    pipeline, source, output = build_pipeline(kw)
    try:
        with progress.bar(enabled=not kw["as_json"]) as on_progress:
            report = pipeline.run(source, on_progress)
    finally:
        pipeline.store.close()
    path = report.write(output / "_reports")
    if kw["as_json"]:
        click.echo(json.dumps({**report.as_dict(), "report": str(path)}, indent=2))
    else:
        for line in report.summary():
            click.echo(line)
        click.echo(f"report: {path}")
    if report.manifests.get("FAILED") or report.failed_files:
        sys.exit(1)


@click.command("watch")
@pipeline_options
@click.option("--poll", type=click.FloatRange(0.1), default=5.0, show_default=True, help="Seconds between polls.")
def watch_command(poll: float, **kw: Any) -> None:
    """Convert continuously: poll the landing zone, honour max-wait, seal days; Ctrl-C or SIGTERM stops."""
    pipeline, source, _ = build_pipeline(kw)
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        click.echo(f"stopping after the manifests in flight ({signal.Signals(signum).name})", err=True)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)

    def cycle(report: Any) -> None:
        if report.manifests.get("SUCCEEDED") or report.manifests.get("FAILED"):
            for line in report.summary():
                click.echo(line)

    try:
        pipeline.watch(source, stop, poll_s=poll, on_cycle=cycle)
    finally:
        pipeline.store.close()
    click.echo("stopped")


@click.command("recover")
@state_option()
@click.option("--output", default=None, metavar="PATH", help="The lake (to remove outputs of failed manifests).")
@click.option("--quarantine", default=None, metavar="PATH")
@click.option("--json", "as_json", is_flag=True)
def recover_command(state: str, output: str | None, quarantine: str | None, as_json: bool) -> None:
    """Re-drive manifests that crashed runs left behind; the next `run` or `watch` converts them."""
    from ..conversion.arrow_engine import ArrowEngine
    from ..workflow.executor import ManifestExecutor
    from ..workflow.lease import owner_token
    from ..workflow.recovery import recover

    store = existing_store(state)
    if output:
        root = Path(output).resolve()
    elif Path(state).resolve().parent.name == "_state":  # the default layout of `run`
        root = Path(state).resolve().parent.parent
    else:
        raise ConfigError("--output is needed when the state file is not <output>/_state/state.db")
    layout = Layout(str(root), str(Path(quarantine).resolve() if quarantine else root / "_quarantine"))
    try:
        report = recover(store, ManifestExecutor(store, ArrowEngine(), layout, ConversionOptions(), owner_token()))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        click.echo(
            f"requeued {len(report.requeued)}, settled {len(report.settled)}, compensated {len(report.compensated)}, "
            f"abandoned claims {len(report.abandoned)}; {len(report.runnable)} manifest(s) ready to run"
        )


@click.command("retry")
@state_option()
@click.option("--date", "dates", multiple=True, metavar="YYYY-MM-DD", help="Only these dates (repeatable).")
def retry_command(state: str, dates: tuple[str, ...]) -> None:
    """Put FAILED files (the dead-letter list) back to PENDING for the next run."""
    store = existing_store(state)
    try:
        moved = sum(
            store.retry_failed(status.dataset, status.date)
            for status in store.dates()
            if status.files.get("FAILED") and (not dates or status.date in dates)
        )
    finally:
        store.close()
    click.echo(f"{moved} file(s) back to PENDING")


@click.command("generate")
@click.option("--output", required=True, metavar="PATH", help="Folder to write sample NDJSON into.")
@click.option("--files", type=int, default=200, show_default=True)
@click.option("--records", type=int, default=50_000, show_default=True)
@click.option("--days", type=int, default=3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--gzip-ratio", type=float, default=0.0, show_default=True, help="Fraction of files gzipped.")
def generate_command(output: str, files: int, records: int, days: int, seed: int, gzip_ratio: float) -> None:
    """Write realistic sample NDJSON (nested objects, arrays, unicode, several days and key layouts)."""
    from ..sample.generator import generate

    summary = generate(Path(output), files=files, records=records, days=days, seed=seed, gzip_ratio=gzip_ratio)
    click.echo(
        f"wrote {summary.records} record(s) in {summary.files} file(s), {summary.bytes / 1e6:.1f} MB, to {output}"
    )


COMMANDS = [run_command, watch_command, recover_command, retry_command, generate_command]
