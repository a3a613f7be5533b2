"""Shared test settings: where the corpora written by others live (tests/data/corpora, see its SOURCES.md),
the settle period, and the moto server with the environment that reaches it."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.corpora import CORPORA, require_corpora
from tests.support.moto_server import REGION, MotoServer


@pytest.fixture(scope="session")
def corpora() -> Path:
    """The folder of third-party test files kept in the repository; a missing one fails, never skips."""
    require_corpora()
    return CORPORA


@pytest.fixture(autouse=True)
def _no_settle_period(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test are complete: the CLI (and its child processes) need not wait for them
    to settle. Tests of the settle period pass --settle-seconds themselves."""
    monkeypatch.setenv("NDJSON2PARQUET_SETTLE_SECONDS", "0")


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """One moto server per test process (each xdist worker starts its own on a free loopback port);
    every test takes fresh bucket and table names of its own."""
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def aws_env(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process's environment (also what child processes get) pointed at the moto server the
    standard way, with dummy credentials and nothing of the developer's ~/.aws."""
    env = {
        "AWS_ENDPOINT_URL": moto.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return {**os.environ}


@pytest.fixture(autouse=True)
def _restore_package_logger() -> Iterator[None]:
    """The Lambda handlers route the package's loggers through Powertools (handlers replaced,
    propagation off): put them back after each test, or later tests in this process (caplog) would
    not see their logs."""
    logger = logging.getLogger("ndjson2parquet")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers, logger.propagate, logger.level = saved[0], saved[1], saved[2]
