"""The deployment the cost model prices agrees with the code that runs in it."""

from __future__ import annotations

import json
from importlib import resources

from ndjson2parquet.config.settings import BatchPolicy, StorePolicy
from ndjson2parquet.cost import DEPLOYMENT, Choices


def _states() -> dict:  # type: ignore[type-arg]
    text = resources.files("ndjson2parquet.aws").joinpath("state_machine.asl.json").read_text(encoding="utf-8")
    return json.loads(text)["States"]


def test_glue_takes_the_manifests_the_state_machine_sends_it() -> None:
    (rule,) = _states()["ChooseEngine"]["Choices"]
    threshold = next(c["NumericGreaterThan"] for c in rule["And"] if "NumericGreaterThan" in c)
    assert DEPLOYMENT.lambda_convert_max_bytes == threshold


def test_the_convert_lambda_times_out_before_its_task_does() -> None:
    assert DEPLOYMENT.convert_timeout_s < _states()["ConvertInLambda"]["TimeoutSeconds"]


def test_the_batch_and_store_policies_are_the_codes_defaults() -> None:
    assert DEPLOYMENT.batch == BatchPolicy() and DEPLOYMENT.store == StorePolicy()
    assert Choices().files_per_manifest == BatchPolicy().max_files


def test_the_recover_pass_lists_no_more_often_than_it_runs() -> None:
    assert DEPLOYMENT.landing_listing_every_min % DEPLOYMENT.recover_every_min == 0
