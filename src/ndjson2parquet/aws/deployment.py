"""The package's side of its deployment: what the Terraform (``terraform/modules``) must agree with.

Each Lambda's handler, the runtime and architecture the package is built for
(``scripts/package_lambda.sh``), the environment variables each function reads (names from
`config.env`), and the Glue job's default arguments (read from the job's own ``ARGUMENTS``); then
the defaults the Terraform deploys and the cost model (`cost.deployment`) prices: each function's
size, the schedules, the queue, table, Glue, logs, landing lifecycle and VPC endpoints.
``tests/unit/infrastructure`` compares these with the code that reads them and with the parsed HCL.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import env

RUNTIME = "python3.11"
ARCHITECTURE = "arm64"
#: the platform pip builds the Lambda zip for (matches ARCHITECTURE)
PIP_PLATFORM = "manylinux2014_aarch64"

#: function key (the Terraform's) -> module:function of its Lambda handler
FUNCTIONS: dict[str, str] = {
    "intake": "ndjson2parquet.aws.handlers.intake.handler",
    "start": "ndjson2parquet.aws.handlers.steps.start_handler",
    "convert": "ndjson2parquet.aws.handlers.steps.convert_handler",
    "commit": "ndjson2parquet.aws.handlers.steps.commit_handler",
    "compensate": "ndjson2parquet.aws.handlers.steps.compensate_handler",
    "put_back": "ndjson2parquet.aws.handlers.steps.put_back_handler",
    "recover": "ndjson2parquet.aws.handlers.recover.handler",
    "seal": "ndjson2parquet.aws.handlers.seal.handler",
}
#: the functions the state machine invokes (its ``${<key>_function_arn}`` placeholders)
STEP_FUNCTIONS = ("start", "convert", "commit", "compensate", "put_back")

# What each kind of handler reads: the steps `aws.config.load_settings` and their observability
# names; the intake `handlers.intake.settings_from_env` and its log level; recover and seal
# `aws.config.load_scheduled_settings` and their observability names.
STEP_ENVIRONMENT = frozenset(
    {
        env.LOG_LEVEL,
        env.SERVICE_NAME,
        env.METRICS_NAMESPACE,
        env.STATE,
        env.LAKE,
        env.QUARANTINE,
        env.STATE_MACHINE_ARN,
        env.GLUE_DATABASE,
        env.OWNER_TTL_SECONDS,
    }
)
INTAKE_ENVIRONMENT = frozenset(
    {
        env.LOG_LEVEL,
        env.STATE,
        env.LANDING,
        env.STATE_MACHINE_ARN,
        env.DATASET,
        env.DATASET_PATTERN,
        env.MAX_FILES,
        env.TARGET_BYTES,
        env.GRACE_SECONDS,
    }
)
SCHEDULED_ENVIRONMENT = STEP_ENVIRONMENT | {
    env.LANDING,
    env.DATASET,
    env.DATASET_PATTERN,
    env.MAX_FILES,
    env.TARGET_BYTES,
    env.MAX_WAIT_SECONDS,
    env.GRACE_SECONDS,
    env.START_DEADLINE_SECONDS,
    env.LISTING_LOOKBACK_SECONDS,
}

#: function key -> every environment variable it reads (Terraform sets exactly these)
ENVIRONMENT: dict[str, frozenset[str]] = {
    "intake": INTAKE_ENVIRONMENT,
    **{key: STEP_ENVIRONMENT for key in STEP_FUNCTIONS},
    "recover": SCHEDULED_ENVIRONMENT,
    "seal": SCHEDULED_ENVIRONMENT,
}

#: Glue job arguments each run gets from the state machine (ConvertInGlue), not from the defaults
PER_RUN_GLUE_ARGUMENTS = ("step_document",)
#: the same reference under the name Glue's convention gives it (either one is read)
GLUE_REFERENCE_ARGUMENTS = ("MANIFEST_REF", "step_document")
#: the arguments Glue adds to every run itself
GLUE_OWN_ARGUMENTS = ("JOB_NAME", "JOB_RUN_ID")


def glue_arguments() -> tuple[str, ...]:
    """The Glue job's default arguments (no ``--``): every argument its entry point reads
    (`aws.glue.arguments.ARGUMENTS`) but the manifest's reference, which each run passes, and Glue's own."""
    from .glue.arguments import ARGUMENTS

    skipped = {*GLUE_REFERENCE_ARGUMENTS, *GLUE_OWN_ARGUMENTS}
    return tuple(name for name in ARGUMENTS if name not in skipped)


# --- what the Terraform module's variables default to (the cost model prices exactly this) -------
# tests/unit/infrastructure/test_cost_contract.py compares each with the HCL's default, and
# `cost.deployment` reads them: change one here, in the Terraform, and the README's Cost figures.


@dataclass(frozen=True)
class FunctionSize:
    """One Lambda function's memory, timeout, reserved concurrency (-1: none) and /tmp size."""

    memory_mb: int
    timeout_s: int
    reserved_concurrency: int
    ephemeral_mb: int = 512  # Lambda's default /tmp


#: function key -> its size (Terraform: the functions module's ``functions`` variable). The steps
#: time out below their states' TimeoutSeconds (start 120 s, convert 960 s, commit, compensate and
#: put_back 300 s). recover: the landing listing runs in it, so the most time a Lambda has and 1 vCPU
#: (1769 MB: parsing LIST pages is single-threaded Python), and 2 at once so the five-minute pass is
#: not throttled while the daily listing runs (two passes at once are safe). convert: 3 GiB of /tmp,
#: since on S3 the parts written early are staged there until the manifest's schema is known: a 2 GiB
#: manifest (the state machine's Glue threshold) needs about 555 MB of it for the generated events,
#: more for data that compresses less (README "Spark against Arrow, and when to use Glue").
FUNCTION_SIZES: dict[str, FunctionSize] = {
    "intake": FunctionSize(512, 120, 20),
    "start": FunctionSize(512, 60, 50),
    "convert": FunctionSize(3008, 900, 20, ephemeral_mb=3072),
    "commit": FunctionSize(512, 240, 50),
    "compensate": FunctionSize(512, 240, 20),
    "put_back": FunctionSize(512, 240, 20),
    "recover": FunctionSize(1769, 900, 2),
    "seal": FunctionSize(512, 300, 1),
}


@dataclass(frozen=True)
class Schedule:
    """An EventBridge Scheduler schedule: the function it invokes, how often, with what event."""

    function: str
    every_min: int
    event: tuple[tuple[str, bool], ...] = ()

    @property
    def expression(self) -> str:
        """The schedule expression Terraform sets (``rate(...)``)."""
        if self.every_min % 1440 == 0:
            days = self.every_min // 1440
            return f"rate({days} day{'s' if days > 1 else ''})"
        if self.every_min % 60 == 0:
            hours = self.every_min // 60
            return f"rate({hours} hour{'s' if hours > 1 else ''})"
        return f"rate({self.every_min} minute{'s' if self.every_min > 1 else ''})"


#: schedule key -> schedule (Terraform: the schedules module). The recover pass every 5 minutes
#: without the landing listing; the listing once a day (it lists every object the landing keeps);
#: the seal every 15 minutes.
SCHEDULES: dict[str, Schedule] = {
    "recover": Schedule("recover", 5, (("list_landing", False),)),
    "landing_listing": Schedule("recover", 1440, (("list_landing", True),)),
    "seal": Schedule("seal", 15),
}
#: NDJSON2PARQUET_LISTING_LOOKBACK_SECONDS of recover and seal: three listing intervals, so two
#: listings in a row may fail and the next still looks up every object landed since the last good one
LISTING_LOOKBACK_S = 3 * SCHEDULES["landing_listing"].every_min * 60

SQS_BATCH_SIZE = 100  # intake messages per invocation
SQS_BATCHING_WINDOW_S = 20
SQS_MAX_RECEIVE_COUNT = 5  # then the intake DLQ
DYNAMODB_BILLING_MODE = "PAY_PER_REQUEST"  # or PROVISIONED (review Q20)
GLUE_VERSION = "5.0"
GLUE_WORKER_TYPE = "G.1X"  # 1 DPU a worker
GLUE_WORKERS = 2
GLUE_FLEX = False
LOG_RETENTION_DAYS = 30
#: the landing bucket keeps inputs (the only copy of a REJECTED file, the source of `retry`): no
#: expiration unless the operator sets one; originals move to Glacier Instant Retrieval at 90 days
LANDING_EXPIRATION_DAYS: int | None = None
LANDING_ARCHIVE_DAYS: int | None = 90
#: VPC endpoints the deployment creates for the Lambdas and the Glue connection (no NAT needed):
#: gateway endpoints (free) for S3 and DynamoDB, interface endpoints for Step Functions (intake,
#: recover, seal start executions), Glue (the commit step's Data Catalog) and CloudWatch Logs (the
#: Glue job's continuous logs). Lambda delivers the functions' own logs and traces itself.
GATEWAY_ENDPOINTS = ("s3", "dynamodb")
INTERFACE_ENDPOINTS = ("states", "glue", "logs")
