"""Shared test settings: where the corpora written by others live (tests/data/corpora, see its SOURCES.md),
the settle period, and the moto server with the environment that reaches it."""

from __future__ import annotations

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
