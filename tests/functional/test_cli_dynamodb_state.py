"""Every state command with `--state dynamodb://TABLE`: embedded runs against the AWS state (moto server)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ndjson2parquet.cli.main import cli
from tests.support.moto_server import REGION, MotoServer


@pytest.fixture
def table(moto: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A fresh table name (not created), with boto3's default client pointed at the moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return f"state-{uuid.uuid4().hex[:10]}"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _landing(root: Path, prefix: str = "") -> None:
    for day, lines in (("2026-11-24", ['{"a": 1}', '{"a": 2}']), ("2026-11-25", ['{"a": 3}', "not json"])):
        folder = root / day
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{prefix}0.ndjson").write_text("\n".join(lines) + "\n")


def test_init_state_creates_the_table_once_and_the_commands_run_against_it(table: str, tmp_path: Path) -> None:
    state = f"dynamodb://{table}"
    created = invoke("init-state", "--state", state)
    assert created.exit_code == 0 and f"created DynamoDB table {state}" in created.output
    again = invoke("init-state", "--state", state)
    assert again.exit_code == 0 and "already there" in again.output

    landing, lake = tmp_path / "in", tmp_path / "lake"
    _landing(landing)
    ingested = invoke("ingest", "--input", str(landing), "--state", state, "--json")
    assert ingested.exit_code == 0 and json.loads(ingested.output)["new"] == 2

    run = invoke("run", "--input", str(landing), "--output", str(lake), "--state", state, "--json")
    assert run.exit_code in (0, 3), run.output  # 3: a rejected line's file may end REJECTED or rescued
    assert not (lake / "_state").exists()  # the state is in DynamoDB, not beside the lake

    status = json.loads(invoke("status", "--state", state, "--json").output)
    assert sum(status["files"].values()) == 2 and status["files"]["PENDING"] == 0
    assert [d["date"] for d in status["dates"]] == ["2026-11-24", "2026-11-25"]

    ledger = invoke("ledger", str(landing / "2026-11-24" / "0.ndjson"), "--state", state, "--json")
    assert ledger.exit_code == 0
    (version,) = json.loads(ledger.output)["versions"]
    assert version["state"] == "DONE"

    verified = invoke("verify", "--state", state, "--json")
    assert verified.exit_code == 0, verified.output
    assert len(json.loads(verified.output)) == 2

    recovered = invoke("recover", "--state", state, "--output", str(lake), "--json")
    assert recovered.exit_code == 0, recovered.output
    assert json.loads(recovered.output)["requeued"] == []

    retried = invoke("retry", "--state", state)
    assert retried.exit_code == 0 and "0 file(s) back to PENDING" in retried.output


def test_a_second_run_against_the_same_table_converts_nothing_twice(table: str, tmp_path: Path) -> None:
    state = f"dynamodb://{table}"
    invoke("init-state", "--state", state)
    landing, lake = tmp_path / "in", tmp_path / "lake"
    _landing(landing)
    invoke("run", "--input", str(landing), "--output", str(lake), "--state", state)
    before = json.loads(invoke("status", "--state", state, "--json").output)["files"]
    _landing(landing, prefix="new-")
    second = invoke("run", "--input", str(landing), "--output", str(lake), "--state", state, "--json")
    assert second.exit_code in (0, 3), second.output
    after = json.loads(invoke("status", "--state", state, "--json").output)["files"]
    assert sum(after.values()) == sum(before.values()) + 2
    assert after["PENDING"] == after["CLAIMED"] == 0


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--json"],
        ["ingest", "--input", "{landing}"],
        ["run", "--input", "{landing}", "--output", "{lake}"],
        ["retry"],
        ["recover", "--output", "{lake}"],
        ["verify"],
        ["ledger", "{landing}/2026-11-24/0.ndjson"],
    ],
)
def test_a_table_that_was_never_created_is_a_one_line_error(table: str, tmp_path: Path, args: list[str]) -> None:
    _landing(tmp_path / "in")
    (tmp_path / "lake").mkdir()
    filled = [a.format(landing=tmp_path / "in", lake=tmp_path / "lake") for a in args]
    result = CliRunner().invoke(cli, [*filled, "--state", f"dynamodb://{table}"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines == [
        f"error: no DynamoDB table {table!r}: create it with `ndjson2parquet init-state --state dynamodb://{table}`"
    ]
