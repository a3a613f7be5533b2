"""Glue's own libraries where the job runs on Glue, a shim elsewhere (tests, a plain Spark cluster).

Only two things are taken from ``awsglue``: its argument parsing (``getResolvedOptions``) and the
SparkSession of its ``GlueContext``. Without ``awsglue`` the arguments are read by ``job_arguments``
and the session is the engine's own (``local[N]`` unless the environment gives a master).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .arguments import ARGUMENTS, job_arguments


def resolved_options(argv: Sequence[str]) -> dict[str, str]:
    """The run's ``--NAME value`` arguments (``argv`` with or without the script first): by awsglue's
    ``getResolvedOptions`` on Glue (given the names present: it refuses a missing one), else by
    ``job_arguments``."""
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        return job_arguments(argv)
    present = [name for name in ARGUMENTS if f"--{name}" in argv]
    command = list(argv)
    if not command or command[0].startswith("--"):
        command.insert(0, "convert_job.py")  # getResolvedOptions skips sys.argv's first item, the script
    return dict(getResolvedOptions(command, present))


def spark_session() -> Any:
    """The SparkSession of the job: the GlueContext's on Glue, else one the engine builds."""
    try:
        from awsglue.context import GlueContext
        from pyspark.context import SparkContext
    except ImportError:
        from ...conversion.spark.session import build_session

        return build_session()
    return GlueContext(SparkContext.getOrCreate()).spark_session
