"""The package's side of its deployment: what the Terraform (``terraform/modules``) must agree with.

Each Lambda's handler, the runtime and architecture the package is built for
(``scripts/package_lambda.sh``), the environment variables each function reads (names from
`config.env`), and the Glue job's default arguments (read from the job's own ``ARGUMENTS``).
``tests/unit/infrastructure`` compares these with the code that reads them and with the parsed HCL.
"""

from __future__ import annotations

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
#: the Parquet codec argument Terraform always sets (review TF-GLUE-003), read by the job once its
#: engine takes a codec
GLUE_CODEC_ARGUMENT = "COMPRESSION_TYPE"


def glue_arguments() -> tuple[str, ...]:
    """The Glue job's default arguments (no ``--``): every argument its entry point reads
    (`aws.glue.convert_job.ARGUMENTS`) but the per-run ones, then the codec."""
    from .glue import convert_job  # imported when asked: the job's engine may need Spark

    names = [name for name in convert_job.ARGUMENTS if name not in PER_RUN_GLUE_ARGUMENTS]
    return tuple(names if GLUE_CODEC_ARGUMENT in names else [*names, GLUE_CODEC_ARGUMENT])
