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


def test_every_handler_shares_one_aws_settings_and_only_the_steps_and_scheduled_ones_need_a_lake() -> None:
    from ndjson2parquet.aws.config import load_intake_settings, load_scheduled_settings

    environ = {env.STATE: "dynamodb://t", env.LANDING: "s3://in/landing", env.STATE_MACHINE_ARN: "arn:sm"}
    intake = load_intake_settings(environ=environ)
    assert (intake.state, intake.state_machine_arn, intake.aws.lake) == ("dynamodb://t", "arn:sm", "")
    scheduled = load_scheduled_settings(environ={**environ, env.LAKE: "s3://b/lake", env.MAX_WAIT_SECONDS: "60"})
    assert scheduled.aws is scheduled.intake.aws  # one place: the state and the workflow are held once
    assert (scheduled.aws.quarantine, scheduled.intake.batch.max_wait_s) == ("s3://b/lake/_quarantine", 60.0)
    with pytest.raises(ConfigError, match="no lake"):
        load_scheduled_settings(environ=environ)
    with pytest.raises(ConfigError, match="no state machine ARN"):
        load_intake_settings(environ={env.STATE: "dynamodb://t", env.LANDING: "s3://in/landing"})
