"""AwsSettings from arguments and the environment."""

from __future__ import annotations

import pytest

from ndjson2parquet.aws.config import load_settings
from ndjson2parquet.config import env
from ndjson2parquet.domain.errors import ConfigError

ENV = {env.STATE: "dynamodb://from-env", env.LAKE: "s3://env-bucket/lake", env.OWNER_TTL_SECONDS: "600"}


def test_settings_come_from_the_environment() -> None:
    settings = load_settings(environ={**ENV, env.LOG_LEVEL: "debug", env.STATE_MACHINE_ARN: "arn:sm"})
    assert (settings.state, settings.lake, settings.owner_ttl_s) == ("dynamodb://from-env", "s3://env-bucket/lake", 600)
    assert settings.quarantine == "s3://env-bucket/lake/_quarantine"
    assert (settings.log_level, settings.state_machine_arn) == ("DEBUG", "arn:sm")


def test_an_explicit_argument_beats_the_environment() -> None:
    settings = load_settings(environ=ENV, lake="s3://arg/lake", owner_ttl_s=30.0, quarantine="s3://arg/q")
    assert (settings.state, settings.lake, settings.quarantine, settings.owner_ttl_s) == (
        "dynamodb://from-env",
        "s3://arg/lake",
        "s3://arg/q",
        30.0,
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({env.LAKE: "s3://b/lake"}, "dynamodb://TABLE"),
        ({env.STATE: "state.db", env.LAKE: "s3://b/lake"}, "dynamodb://TABLE"),
        ({env.STATE: "dynamodb://t"}, "no lake"),
        ({env.STATE: "dynamodb://t", env.LAKE: "/tmp/lake"}, "s3://"),
        ({**ENV, env.OWNER_TTL_SECONDS: "soon"}, env.OWNER_TTL_SECONDS),
        ({**ENV, env.OWNER_TTL_SECONDS: "0"}, "owner_ttl_s"),
    ],
)
def test_bad_settings_are_a_config_error_naming_the_problem(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=environ)
