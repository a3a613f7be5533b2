"""Commands that move data: run, watch, recover, retry, generate."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from ..config import env
from ..config.settings import BatchPolicy, ConversionOptions, OnChanged, RunOptions, StorePolicy
from ..conversion.engine import Engine
from ..domain.errors import ConfigError
from ..domain.states import FileState
from ..ingest.sources import open_source
from ..state import DYNAMODB_SCHEME, open_store
from ..storage import Storage, any_storage, is_s3, open_storage
from ..workflow.executor import Layout
from ..workflow.pipeline import Pipeline
from ..workflow.report import RunReport, WatchSummary
from . import logs, progress
from .options import build_partitioner, change_options, existing_store, partition_options, refuse_inside, state_option

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
        "--engine",
        type=click.Choice(["arrow", "spark"]),
        default="arrow",
        show_default=True,
        help="Convert in this process (arrow) or on a Spark cluster (spark: needs pyspark and Java).",
    ),
    click.option(
        "--spark-master",
        default=None,
        metavar="URL",
        help="With --engine spark: the cluster's master URL (spark://…, yarn, k8s://…) [local[N], N the cores].",
    ),
    click.option(
        "--spark-conf",
        multiple=True,
        metavar="K=V",
        callback=lambda _ctx, _param, value: _spark_conf(value),
        help="With --engine spark: a Spark setting (repeatable), e.g. spark.executor.memory=4g.",
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
        "--owner-ttl",
        "owner_ttl",
        type=click.FloatRange(0.1),
        default=StorePolicy.owner_ttl_s,
        show_default=True,
        envvar=env.OWNER_TTL_SECONDS,
        help="This run's owner record in the state store lives this many seconds unless renewed (every third"
        " of it): a killed run's manifests are requeued by recovery this long after it died."
        " Env NDJSON2PARQUET_OWNER_TTL_SECONDS.",
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
        "--max-columns",
        type=click.IntRange(1),
        default=ConversionOptions.max_columns,
        show_default=True,
        help="Top-level columns a dataset may have; later fields are kept in _rescued_data.",
    ),
    click.option(
        "--max-leaf-columns",
        type=click.IntRange(1),
        default=ConversionOptions.max_leaf_columns,
        show_default=True,
        help="Parquet columns (nested fields included) a dataset may have; past it, as --max-columns.",
    ),
    click.option(
        "--schema-file",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="JSON schema fixing the types of the fields it lists (see README).",
    ),
    click.option(
        "--allow-widening",
        is_flag=True,
        help="Let int64 columns become float64 when doubles come (some readers then need a recipe; see README).",
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


def _spark_conf(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--spark-conf`` values as a dict; a malformed one is a usage error (one line, exit 2)."""
    if not pairs:
        return {}  # the Spark modules are not imported for an Arrow run
    from ..conversion.spark.session import parse_conf

    try:
        return parse_conf(pairs)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--spark-conf") from exc


def build_engine(kw: dict[str, Any], storage: Storage) -> Engine:
    """The engine ``--engine`` names: Arrow in this process, or Spark (its session started here, so a bad
    master or setting is one line before anything is converted)."""
    from ..conversion.arrow.arrow_engine import ArrowEngine

    if kw["engine"] == "arrow":
        if kw["spark_master"] or kw["spark_conf"]:
            raise ConfigError("--spark-master and --spark-conf go with --engine spark")
        return ArrowEngine(storage=storage)  # inputs on S3 are streamed through the storage port
    from ..conversion.spark import SparkEngine

    engine = SparkEngine(storage=storage, master=kw["spark_master"], conf=kw["spark_conf"])
    _ = engine.spark
    return engine


def build_pipeline(kw: dict[str, Any]) -> tuple[Pipeline, Any, Path | str]:
    """Typed settings, store, engine and source from the parsed options (arguments beat the env)."""
    from ..conversion.schema import load_schema_file

    if kw["log_format"]:
        logs.setup(kw["log_format"])
    if kw["schema_file"]:
        load_schema_file(kw["schema_file"])  # a bad schema file stops here, not in every manifest
    storage = any_storage()
    output = lake_location(kw["output"])
    source = open_source(kw["input_"], storage=storage.backend(kw["input_"]) if is_s3(kw["input_"]) else None)
    options = RunOptions(
        batch=BatchPolicy(
            max_files=kw["max_files"],
            target_bytes=int(kw["target_mb"] * MiB),
            max_wait_s=kw["max_wait"],
            grace_period_s=kw["grace_hours"] * 3600,
        ),
        store=StorePolicy(max_attempts=kw["max_attempts"], owner_ttl_s=kw["owner_ttl"]),
        conversion=ConversionOptions(
            compression=kw["compression"],
            row_group_rows=kw["row_group_rows"],
            target_file_bytes=int(kw["file_mb"] * MiB),
            max_line_bytes=int(kw["max_line_mb"] * MiB),
            max_columns=kw["max_columns"],
            max_leaf_columns=kw["max_leaf_columns"],
            lineage=kw["lineage"],
            strict=kw["strict"],
            schema_file=kw["schema_file"],
            allow_widening=kw["allow_widening"],
        ),
        partitioner=build_partitioner(kw["dataset"], kw["dataset_pattern"], kw["date_patterns"]),
        workers=kw["workers"],
        settle_s=kw["settle_seconds"],
        on_changed=OnChanged(kw["on_changed"]),
    )
    state = kw["state"]
    quarantine = lake_location(kw["quarantine"]) if kw["quarantine"] else _under(output, "_quarantine")
    if state is None and isinstance(output, str):
        raise ConfigError(
            "with an s3:// --output, give --state (a local SQLite file or dynamodb://TABLE): it cannot live in the lake"
        )
    on_dynamodb = bool(state and state.startswith(DYNAMODB_SCHEME))
    sqlite_state = None if on_dynamodb else Path(state or _under(output, "_state/state.db"))
    refuse_inside(source, {"output": _local(output), "quarantine": _local(quarantine), "state": sqlite_state})
    if state is None:
        assert isinstance(output, Path)
        (output / "_state").mkdir(parents=True, exist_ok=True)
        state = str(output / "_state" / "state.db")
    store = open_store(state, policy=options.store)
    layout = Layout(str(output), str(quarantine))
    engine = build_engine(kw, storage)
    context = {
        "input": source.describe(),
        "output": str(output),
        "quarantine": str(quarantine),
        "state": state,
        "options": {k: v for k, v in kw.items() if k not in ("input_", "output", "quarantine", "state", "as_json")},
    }
    return Pipeline(store, engine, layout, options, context=context), source, output


def lake_location(where: str) -> Path | str:
    """A lake, quarantine or report location: an s3:// URL as given (without a trailing /), or a
    resolved local folder (one-line error when it is a file)."""
    if is_s3(where):
        if len(where) <= 5 or where[5] == "/":
            raise ConfigError(f"no bucket in {where}")
        return where.rstrip("/")
    folder = Path(where).resolve()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"output is not a folder: {folder}")
    return folder


def _under(root: Path | str, name: str) -> Path | str:
    return root / name if isinstance(root, Path) else Storage.join(root, name)


def _local(where: Path | str) -> Path | None:
    return where if isinstance(where, Path) else None


def write_report(write: Any, folder: Path | str) -> Path | str:
    """``write(folder, storage)`` of a run report or watch summary, into a local or s3:// folder."""
    if isinstance(folder, Path):
        return write(folder)
    return write(folder, storage=open_storage(folder))


EXIT_STATUS_HELP = (
    "Exit status: 0 every file of this run ended DONE (or there was nothing to do); 1 the command failed;"
    " 2 usage error; 3 some file ended REJECTED or FAILED in this run (or --date-pattern left files undated);"
    " 4 none did, but changed input files were reported."
)


@click.command("run", epilog=EXIT_STATUS_HELP)
@pipeline_options
def run_command(**kw: Any) -> None:
    """Convert everything in the landing zone once: ingest, batch, convert, flush, seal, report."""
    pipeline, source, output = build_pipeline(kw)
    with pipeline.store, progress.bar(enabled=not kw["as_json"]) as on_progress:
        report = pipeline.run(source, on_progress)
    path = write_report(report.write, _under(output, "_reports"))
    if kw["as_json"]:
        click.echo(json.dumps({**report.as_dict(), "report": str(path)}, indent=2))
    else:
        for line in report.summary():
            click.echo(line)
        click.echo(f"report: {path}")
    status = report.exit_status()
    if status:
        sys.exit(int(status))


@click.command("watch", epilog=EXIT_STATUS_HELP.replace("this run", "any cycle"))
@pipeline_options
@click.option("--poll", type=click.FloatRange(0.1), default=5.0, show_default=True, help="Seconds between polls.")
def watch_command(poll: float, **kw: Any) -> None:
    """Convert continuously: poll the landing zone, honour max-wait, seal days; Ctrl-C or SIGTERM stops."""
    pipeline, source, output = build_pipeline(kw)
    reports = _under(output, "_reports")
    stop = threading.Event()
    summary = WatchSummary()

    def request_stop(signum: int, _frame: object) -> None:
        click.echo(f"stopping after the manifests in flight ({signal.Signals(signum).name})", err=True)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)

    def cycle(report: RunReport) -> None:
        if report.manifests.get("SUCCEEDED") or report.manifests.get("FAILED"):
            path = write_report(report.write, reports)  # a report per cycle that converted something
            summary.add(report, path)
            write_report(summary.write, reports)  # and the rolling summary of this watch
            for line in report.summary():
                click.echo(line)
            click.echo(f"report: {path}")

    with pipeline.store:
        pipeline.watch(source, stop, poll_s=poll, on_cycle=cycle)
    click.echo("stopped")
    status = summary.exit_status()
    if status:
        sys.exit(int(status))


@click.command("recover")
@state_option(required=False)
@click.option(
    "--output",
    default=None,
    metavar="PATH",
    help="The lake: its failed manifests' outputs are removed; --from-lake reads its commit records.",
)
@click.option("--quarantine", default=None, metavar="PATH")
@click.option(
    "--from-lake",
    is_flag=True,
    help="Rebuild the state from the lake's commit records (<output>/_manifests) instead: after a lost state.",
)
@click.option("--json", "as_json", is_flag=True)
def recover_command(
    state: str | None, output: str | None, quarantine: str | None, from_lake: bool, as_json: bool
) -> None:
    """Re-drive manifests that crashed runs left behind; the next `run` or `watch` converts them.

    With --from-lake: restore a lost or emptied state from the lake's commit records, so the next run
    converts nothing twice. [--state defaults to <output>/_state/state.db]
    """
    from ..conversion.arrow.arrow_engine import ArrowEngine
    from ..workflow.executor import ManifestExecutor
    from ..workflow.lease import Owner
    from ..workflow.recovery import recover

    if state is None:
        if not output:
            raise ConfigError("--state or --output is needed (the state is <output>/_state/state.db by default)")
        if is_s3(output):
            raise ConfigError("with an s3:// --output, give --state (a local SQLite file or dynamodb://TABLE)")
        state = str(Path(output).resolve() / "_state" / "state.db")
    root: Path | str
    if output:
        root = output.rstrip("/") if is_s3(output) else Path(output).resolve()
    elif Path(state).resolve().parent.name == "_state":  # the default layout of `run`
        root = Path(state).resolve().parent.parent
    else:
        raise ConfigError("--output is needed when the state file is not <output>/_state/state.db")
    if from_lake:
        _rebuild(state, root, as_json)
        return
    layout = Layout(str(root), str(lake_location(quarantine) if quarantine else _under(root, "_quarantine")))
    with existing_store(state) as store:
        engine = ArrowEngine(storage=any_storage())
        executor = ManifestExecutor(store, engine, layout, ConversionOptions(), str(Owner.process()))
        report = recover(store, executor)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        click.echo(
            f"requeued {len(report.requeued)}, settled {len(report.settled)}, compensated {len(report.compensated)}, "
            f"abandoned claims {len(report.abandoned)}; {len(report.runnable)} manifest(s) ready to run"
        )


def _rebuild(state: str, root: Path | str, as_json: bool) -> None:
    """`recover --from-lake`: the state store (created if need be) restored from the lake's commit records."""
    from ..lake.record_store import RECORDS_DIR, StorageCommitRecords
    from ..workflow.lake_commits import rebuild_from_lake

    if isinstance(root, Path) and not root.is_dir():
        raise ConfigError(f"no lake at {root}")
    on_dynamodb = state.startswith(DYNAMODB_SCHEME)
    if not on_dynamodb:
        Path(state).parent.mkdir(parents=True, exist_ok=True)
    with open_store(state, must_exist=on_dynamodb) as store:  # a table is never created implicitly
        report = rebuild_from_lake(StorageCommitRecords(root), store, str(root))
    if as_json:
        click.echo(json.dumps(report.as_dict()))
        return
    if not report.records:
        click.echo(f"no commit records in {_under(root, RECORDS_DIR)}: nothing to rebuild")
        return
    click.echo(
        f"rebuilt the state from {report.records} commit record(s): {report.imported} manifest(s) and"
        f" {report.files} file(s) restored, {report.known} already known"
        + (f"; schema restored for {', '.join(report.schemas)}" if report.schemas else "")
        + (f"; seals restored for {', '.join(report.sealed)}" if report.sealed else "")
    )


@click.command("retry")
@state_option()
@click.argument("files", nargs=-1, metavar="[FILE]...")
@click.option("--date", "dates", multiple=True, metavar="YYYY-MM-DD", help="Only these dates (repeatable).")
@click.option("--rejected", is_flag=True, help="Put REJECTED files back (after fixing them) instead of FAILED ones.")
def retry_command(state: str, files: tuple[str, ...], dates: tuple[str, ...], rejected: bool) -> None:
    """Put FAILED files (the dead-letter list), REJECTED ones (--rejected), or the FILEs named, back to PENDING.

    The next `run` converts them; a REJECTED file wrote no row, so its rows are added once and its
    ledger is replaced by the new conversion's. A sealed date they belong to is open again.
    """
    with existing_store(state) as store:
        if files:
            moved = _retry_named(store, files)
        else:
            wanted = FileState.REJECTED.value if rejected else FileState.FAILED.value
            retry = store.retry_rejected if rejected else store.retry_failed
            moved = sum(
                retry(status.dataset, status.date)
                for status in store.dates()
                if status.files.get(wanted) and (not dates or status.date in dates)
            )
    click.echo(f"{moved} file(s) back to PENDING")


def _retry_named(store: Any, files: tuple[str, ...]) -> int:
    """Retry the newest version of each named file; a name unknown, or not FAILED/REJECTED, is an error."""
    records = []
    for name in files:
        uri = name if name.startswith("s3://") else str(Path(name).resolve())
        versions = store.files_by_uri(uri)
        if not versions:
            raise ConfigError(f"no file {uri} in the state store")
        latest = versions[-1]
        if latest.state not in (FileState.FAILED, FileState.REJECTED):
            raise ConfigError(f"{uri} is {latest.state.value}: only FAILED or REJECTED files can be retried")
        records.append(latest)
    return len(store.retry_files(records))


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
