"""The Glue job that converts a manifest too large for a Lambda: the same convert step, more memory.

The state machine's ``ConvertInGlue`` state starts it (``glue:startJobRun.sync``) with the step
document as ``--step_document``; the job's default arguments (set by Terraform) say where the state
and the lake are: ``--state`` (dynamodb://TABLE), ``--lake``, and optionally ``--quarantine``. The
manifest's owner stays the execution: the step's heartbeat renews its record while the job runs.

The run succeeds when the step's next is commit (the state machine commits from the work object the
step wrote) or when there is nothing left to do (the manifest is another owner's, or committed);
any other outcome fails the run (``ConvertJobFailed``), which the state machine compensates.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from ...backoff import Backoff
from ...domain.errors import TerminalError
from ...workflow.steps import Next, StepDocument, begin
from ..config import load_settings
from ..runtime import AwsClients, StepRuntime

log = logging.getLogger(__name__)

#: the job's own arguments, beside the ones Glue adds (--JOB_NAME, --JOB_RUN_ID, ...)
ARGUMENTS = ("step_document", "state", "lake", "quarantine")


class ConvertJobFailed(TerminalError):
    """The convert step did not leave the manifest ready to commit: the job run fails."""


def job_arguments(argv: Sequence[str]) -> dict[str, str]:
    """``--name value`` pairs of a Glue job's command line (what awsglue's getResolvedOptions reads)."""
    found: dict[str, str] = {}
    items = list(argv)
    for i, item in enumerate(items):
        if item.startswith("--") and i + 1 < len(items):
            found[item[2:]] = items[i + 1]
    return found


def run(
    arguments: dict[str, str], clients: AwsClients | None = None, runtime: StepRuntime | None = None
) -> dict[str, Any]:
    """Run the convert step on ``--step_document``; the step's document, or ConvertJobFailed."""
    if "step_document" not in arguments:
        raise ConvertJobFailed("no --step_document argument")
    if runtime is None:
        explicit = {name: arguments.get(name) for name in ("state", "lake", "quarantine")}
        # a job may retry longer in process than a Lambda (no Step Functions Retry around a failed run)
        backoff = Backoff(base=0.5, cap=30.0, attempts=4)
        runtime = StepRuntime(load_settings(**explicit), clients or AwsClients(), backoff=backoff)
    doc = StepDocument.from_json(json.loads(arguments["step_document"]))
    ctx = runtime.context()
    ctx.store.announce_owner(doc.owner, doc.owner_ttl_s)
    converted = begin.convert(ctx, doc)
    if converted.doc.next not in (Next.COMMIT, Next.END):
        raise ConvertJobFailed(f"convert of {doc.manifest_id} ended with {converted.doc.next}: {converted.doc.error}")
    return converted.doc.to_json()


def main(argv: Sequence[str] | None = None) -> None:
    """The Glue script: convert, then exit 0 (ready to commit) or non-zero (the run fails)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    doc = run(job_arguments(sys.argv[1:] if argv is None else argv))
    log.info("manifest converted", extra={"manifest_id": doc["manifest_id"], "next": doc["next"]})


if __name__ == "__main__":
    main()
