"""The state machine's ASL file: its placeholders, its retry and catch rules, and statelint's verdict."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ndjson2parquet.aws.state_machine import PLACEHOLDER, PLACEHOLDERS, example_values, render, template
from ndjson2parquet.domain.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
STATELINT = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "statelint"


def definition() -> dict[str, Any]:
    return json.loads(render(example_values()))


def lambda_tasks(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in states.items() if s["Type"] == "Task" and s["Resource"].startswith("arn:aws:lambda:")}


def test_the_placeholders_listed_are_those_the_file_uses() -> None:
    assert set(PLACEHOLDER.findall(template())) == set(PLACEHOLDERS)


def test_the_file_holds_nothing_terraform_templatefile_would_read_as_a_directive() -> None:
    text = template()
    assert "%{" not in text  # a templatefile directive
    assert "$${" not in text  # an escaped placeholder: it would reach AWS as a literal ${...}
    assert set(PLACEHOLDER.findall(text)) == {m[2:-1] for m in re.findall(r"\$\{[^}]*\}", text)}


def test_render_refuses_to_leave_a_placeholder_unfilled() -> None:
    values = example_values()
    del values["commit_function_arn"]
    with pytest.raises(ConfigError, match="commit_function_arn"):
        render(values)


def test_statelint_accepts_the_definition(tmp_path: Path) -> None:
    # never skipped: scripts/setup.sh installs statelint (from npm) into .ci/node
    assert STATELINT.exists(), f"statelint is not installed at {STATELINT}: run scripts/setup.sh (needs npm)"
    rendered = tmp_path / "machine.asl.json"
    rendered.write_text(render(example_values()), encoding="utf-8")
    lint = subprocess.run([str(STATELINT), str(rendered)], capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_statelint_rejects_a_missing_target(tmp_path: Path) -> None:
    # the linter really checks: a transition to a state that does not exist fails it
    assert STATELINT.exists(), f"statelint is not installed at {STATELINT}: run scripts/setup.sh (needs npm)"
    broken = definition()
    broken["States"]["Commit"]["Next"] = "Nowhere"
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    lint = subprocess.run([str(STATELINT), str(path)], capture_output=True, text=True, timeout=120)
    assert lint.returncode != 0
    assert "Nowhere" in lint.stdout + lint.stderr


def test_every_lambda_step_retries_transient_errors_with_jittered_backoff_and_never_terminal_ones() -> None:
    tasks = lambda_tasks(definition()["States"])
    assert set(tasks) == {"Start", "ConvertInLambda", "Commit", "PutBack", "Compensate"}
    for name, task in tasks.items():
        retry = {tuple(r["ErrorEquals"]): r for r in task["Retry"]}
        assert retry[("StepTerminalError",)]["MaxAttempts"] == 0, name
        assert task["Retry"][0]["ErrorEquals"] == ["StepTerminalError"], name  # first: it matches before TaskFailed
        transient = retry[("StepTransientError",)]
        assert transient["JitterStrategy"] == "FULL" and transient["BackoffRate"] > 1 and transient["MaxDelaySeconds"]
        assert any("States.TaskFailed" in r["ErrorEquals"] for r in task["Retry"]), name
        assert task["TimeoutSeconds"] > 0, name
        assert task["Catch"][0]["ErrorEquals"] == ["States.ALL"], name


def test_the_convert_step_outlasts_its_lambda_and_the_owner_record_outlasts_the_step() -> None:
    from ndjson2parquet.config.settings import AwsSettings

    states = definition()["States"]
    convert_timeout = states["ConvertInLambda"]["TimeoutSeconds"]
    assert convert_timeout > 900  # the Lambda's own limit ends it first: a stuck step is a timeout here
    longest_wait = max(r.get("MaxDelaySeconds", 0) for r in states["ConvertInLambda"]["Retry"])
    owner_ttl = AwsSettings(state="dynamodb://t", lake="s3://b/lake").owner_ttl_s
    assert owner_ttl >= convert_timeout + longest_wait


def test_failures_are_compensated_then_notified_and_the_execution_fails() -> None:
    states = definition()["States"]
    assert states["ConvertInLambda"]["Catch"][0]["Next"] == "Compensate"
    assert states["ConvertInGlue"]["Catch"][0]["Next"] == "Compensate"
    assert states["Commit"]["Catch"][0]["Next"] == "Compensate"
    assert {c["StringEquals"]: c["Next"] for c in states["Converted"]["Choices"]}["fail"] == "Compensate"
    assert states["Compensate"]["Next"] == "NotifyFailure"
    assert states["NotifyFailure"]["Resource"] == "arn:aws:states:::sns:publish"
    assert states[states["NotifyFailure"]["Next"]]["Type"] == "Fail"


def test_large_manifests_convert_in_glue() -> None:
    states = definition()["States"]
    [choice] = states["ChooseEngine"]["Choices"]
    assert choice["Next"] == "ConvertInGlue"
    assert states["ConvertInGlue"]["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    assert states["ConvertInGlue"]["Next"] == "Commit"
