"""The AWS handlers' settings from explicit arguments, else the environment (names in `config.env`).

One loader per handler kind, each reading exactly the variables its function is given
(`aws.deployment.ENVIRONMENT`): `load_settings` (the steps': `load_aws_settings`, a lake required),
`load_intake_settings` (the intake's: its share of `AwsSettings`, the landing zone, dating and
batching), `load_scheduled_settings` (recover and seal: the steps' settings and the intake's, with
``max_wait``, the start deadline and the landing listing's lookback).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import env
from ..config.settings import AwsSettings, BatchPolicy, IntakeSettings, ScheduledSettings
from ..domain.errors import ConfigError
from ..domain.partitioning import Partitioner


def load_aws_settings(environ: Mapping[str, str] | None = None, **explicit: Any) -> AwsSettings:
    """The shared settings: each field from ``explicit`` when given (not None), else its variable.

    ``environ`` defaults to the process environment (a Lambda's configured variables).
    """

    def pick(name: str, variable: str, default: Any = None) -> Any:
        value = explicit.get(name)
        return value if value is not None else env.read(variable, default, environ)

    owner_ttl = pick("owner_ttl_s", env.OWNER_TTL_SECONDS)
    fields: dict[str, Any] = {
        "state": pick("state", env.STATE, ""),
        "lake": pick("lake", env.LAKE, ""),
        "quarantine": pick("quarantine", env.QUARANTINE, ""),
        "state_machine_arn": pick("state_machine_arn", env.STATE_MACHINE_ARN),
        "glue_database": pick("glue_database", env.GLUE_DATABASE),
        "service": pick("service", env.SERVICE_NAME, "ndjson2parquet"),
        "metrics_namespace": pick("metrics_namespace", env.METRICS_NAMESPACE, "ndjson2parquet"),
        "log_level": str(pick("log_level", env.LOG_LEVEL, "INFO")).upper(),
    }
    if owner_ttl is not None:
        try:
            fields["owner_ttl_s"] = float(owner_ttl)
        except ValueError as exc:
            raise ConfigError(f"{env.OWNER_TTL_SECONDS} must be a number of seconds, got {owner_ttl!r}") from exc
    for name in ("store", "conversion"):
        if explicit.get(name) is not None:
            fields[name] = explicit[name]
    return AwsSettings(**fields)


def load_settings(environ: Mapping[str, str] | None = None, **explicit: Any) -> AwsSettings:
    """The step handlers' settings (`load_aws_settings`), which must name a lake."""
    return load_aws_settings(environ, **explicit).require_lake()


def load_intake_settings(environ: Mapping[str, str] | None = None, **explicit: Any) -> IntakeSettings:
    """The intake's settings: its share of `AwsSettings` (state store, workflow, log level: the intake
    reads no lake), the landing zone, dating and batch policy (``explicit`` beats the environment:
    ``landing``, ``partitioner``, ``batch``, ``aws``)."""

    def pick(name: str, variable: str, default: Any = None) -> Any:
        value = explicit.get(name)
        return value if value is not None else env.read(variable, default, environ)

    aws = explicit.get("aws") or AwsSettings(
        state=pick("state", env.STATE, ""),
        state_machine_arn=pick("state_machine_arn", env.STATE_MACHINE_ARN),
        log_level=str(pick("log_level", env.LOG_LEVEL, "INFO")).upper(),
    )
    return IntakeSettings(
        aws=aws,
        landing=pick("landing", env.LANDING, "") or "",
        partitioner=explicit.get("partitioner")
        or Partitioner(
            dataset_pattern=env.read(env.DATASET_PATTERN, None, environ),
            default_dataset=env.read(env.DATASET, "default", environ) or "default",
        ),
        batch=explicit.get("batch") or _batch_policy(environ, with_max_wait=False),
    )


def _batch_policy(environ: Mapping[str, str] | None, *, with_max_wait: bool) -> BatchPolicy:
    """The batch policy from the environment (the intake closes only full manifests: ``max_wait`` is
    the scheduled flush's, read only for it)."""
    defaults = BatchPolicy()
    return BatchPolicy(
        max_files=int(env.read_number(env.MAX_FILES, defaults.max_files, environ)),
        target_bytes=int(env.read_number(env.TARGET_BYTES, defaults.target_bytes, environ)),
        max_wait_s=env.read_number(env.MAX_WAIT_SECONDS, defaults.max_wait_s, environ)
        if with_max_wait
        else defaults.max_wait_s,
        grace_period_s=env.read_number(env.GRACE_SECONDS, defaults.grace_period_s, environ),
    )


def load_scheduled_settings(environ: Mapping[str, str] | None = None, **explicit: Any) -> ScheduledSettings:
    """The recover and seal handlers' settings: the steps' (`load_settings`: a lake is required), the
    intake's (`load_intake_settings`), the start deadline and the listing's lookback (0: none)."""
    batch = explicit.get("batch") or _batch_policy(environ, with_max_wait=True)
    explicit = {k: v for k, v in explicit.items() if k not in ("aws", "batch")}
    intake = load_intake_settings(environ, aws=load_settings(environ, **explicit), batch=batch, **explicit)
    deadline = explicit.get("start_deadline_s")
    if deadline is None:
        deadline = env.read_number(env.START_DEADLINE_SECONDS, ScheduledSettings.start_deadline_s, environ)
    lookback = explicit.get("listing_lookback_s")
    if lookback is None:
        lookback = env.read_number(env.LISTING_LOOKBACK_SECONDS, ScheduledSettings.listing_lookback_s, environ)
    return ScheduledSettings(intake=intake, start_deadline_s=float(deadline), listing_lookback_s=float(lookback))
