"""The Glue job that converts a manifest too large for a Lambda: the convert step on the Spark engine.

Supported: Glue 5.0 (Python 3.11, Spark 3.5; the package and pyspark 3.5 from ``--additional-python-modules``
or a wheel in ``--extra-py-files``). The state machine's ``ConvertInGlue`` state starts it
(``glue:startJobRun.sync``) with the manifest's reference (the step document) as ``--step_document``;
the job's default arguments (Terraform) say where the state and the lake are. Every argument is
named and described in ``arguments.ARGUMENTS``.

The manifest's owner stays the execution, announced again when the job starts: while the job runs
the step's heartbeat renews the owner's record and the manifest's lease, so recovery leaves it alone
and a job that dies lets its lease lapse. The result travels by reference: the step writes the run's
work object into the lake, and the state machine's Commit reads it. The run succeeds when the step's
next is commit, or when there is nothing left to do (another owner's manifest, or committed); any
other outcome fails the run (``ConvertJobFailed``), which the state machine compensates.

The driver holds no input: the SparkSession of the ``GlueContext`` runs the Spark engine, whose
executors convert the manifest's file groups (``conversion/spark``).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ...backoff import Backoff
from ...domain.errors import TerminalError
from ...gc_policy import tune_for_bulk_work
from ...workflow.steps import Next, StepDocument, begin
from ..config import load_settings
from ..runtime import AwsClients, StepRuntime
from .arguments import JobArguments, job_arguments
from .glue_context import resolved_options, spark_session

log = logging.getLogger(__name__)

__all__ = ["ConvertJobFailed", "job_arguments", "main", "run", "runtime_for"]


class ConvertJobFailed(TerminalError):
    """The convert step did not leave the manifest ready to commit: the job run fails."""


def runtime_for(args: JobArguments, clients: AwsClients | None = None, spark: Any = None) -> StepRuntime:
    """The steps' services for a run: the settings its arguments name, and the engine it asks for (the Spark
    engine on ``spark``, by default the Glue context's session)."""
    settings = load_settings(state=args.state, lake=args.lake, quarantine=args.quarantine)
    # a job may retry longer in process than a Lambda (no Step Functions Retry around a failed run)
    runtime = StepRuntime(settings, clients or AwsClients(), backoff=Backoff(base=0.5, cap=30.0, attempts=4))
    if args.engine == "spark":
        from ...conversion.spark import SparkEngine

        runtime.__dict__["engine"] = SparkEngine(spark=spark or spark_session(), storage=runtime.storage)
    return runtime


def run(
    arguments: dict[str, str], clients: AwsClients | None = None, runtime: StepRuntime | None = None
) -> dict[str, Any]:
    """Run the convert step on the manifest's reference; the step's document, or ConvertJobFailed."""
    args = JobArguments.of(arguments)
    runtime = runtime or runtime_for(args, clients)
    doc = StepDocument.from_json(json.loads(args.manifest_ref))
    doc = replace(doc, options=args.options_over(doc.options))
    ctx = runtime.context()
    ctx.store.announce_owner(doc.owner, doc.owner_ttl_s)  # the execution owns the manifest while the job runs
    converted = begin.convert(ctx, doc)
    if converted.doc.next not in (Next.COMMIT, Next.END):
        raise ConvertJobFailed(f"convert of {doc.manifest_id} ended with {converted.doc.next}: {converted.doc.error}")
    return converted.doc.to_json()


def main(argv: Sequence[str] | None = None, runtime: StepRuntime | None = None) -> dict[str, Any]:
    """The Glue script: convert, then exit 0 (ready to commit) or raise (the run fails)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    tune_for_bulk_work()
    arguments = resolved_options(sys.argv if argv is None else list(argv))
    doc = run(arguments, runtime=runtime)
    log.info("manifest converted", extra={"manifest_id": doc["manifest_id"], "next": doc["next"]})
    return doc


if __name__ == "__main__":
    main()
