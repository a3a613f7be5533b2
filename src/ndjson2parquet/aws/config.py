"""`AwsSettings` from explicit arguments, else the environment (names in `config.env`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import env
from ..config.settings import AwsSettings
from ..domain.errors import ConfigError


def load_settings(environ: Mapping[str, str] | None = None, **explicit: Any) -> AwsSettings:
    """The handlers' settings: each field from ``explicit`` when given (not None), else its variable.

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
