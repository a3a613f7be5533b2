"""The state machine, Glue job, queues and state table in Terraform against the code: the ASL's
placeholders, the timeouts that must nest, every Glue argument the job reads, the table layout."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ndjson2parquet.aws import deployment, state_machine
from ndjson2parquet.aws.glue import arguments as glue_job_arguments
from ndjson2parquet.config.settings import COMPRESSIONS
from ndjson2parquet.state.dynamodb import table
from tests.support import terraform

MODULE_DIR = terraform.MODULES / "workflow"
STATE_OF = {
    "start": "Start",
    "convert": "ConvertInLambda",
    "commit": "Commit",
    "compensate": "Compensate",
    "put_back": "PutBack",
}


def definition() -> dict[str, Any]:
    return json.loads(state_machine.render(state_machine.example_values()))


def test_terraform_passes_exactly_the_placeholders_the_asl_file_uses() -> None:
    passed = set(terraform.locals_of("workflow")["template_values"])
    used = set(state_machine.PLACEHOLDER.findall(state_machine.template()))
    assert passed == used == set(state_machine.PLACEHOLDERS)


def test_the_module_loads_the_repositorys_asl_file() -> None:
    path = terraform.locals_of("workflow")["definition_path"]
    relative = re.search(r'"\$\{path\.module\}/([^"]+)"', path)
    assert relative, path
    assert (MODULE_DIR / relative.group(1)).resolve() == Path(state_machine.__file__).with_name(state_machine.ASL_FILE)
    assert terraform.resource("workflow", "aws_sfn_state_machine", "this")["definition"] == (
        "${templatefile(local.definition_path, local.template_values)}"
    )


def test_each_step_functions_timeout_is_below_its_states_timeout() -> None:
    states = definition()["States"]
    sizes = terraform.default("functions", "functions")
    for key, state in STATE_OF.items():
        assert sizes[key]["timeout"] < states[state]["TimeoutSeconds"], key
    assert set(STATE_OF) == set(deployment.STEP_FUNCTIONS)


def test_the_owner_record_outlives_the_longest_step_and_retry_wait() -> None:
    states = definition()["States"]
    longest = max(s.get("TimeoutSeconds", 0) for n, s in states.items() if n != "ConvertInGlue" and s["Type"] == "Task")
    assert terraform.default("functions", "owner_ttl_seconds") > longest + 60


def test_the_glue_run_ends_before_its_state_times_out() -> None:
    state = definition()["States"]["ConvertInGlue"]
    assert terraform.default("glue", "timeout_minutes") * 60 < state["TimeoutSeconds"]


def test_every_argument_the_glue_entry_point_reads_is_a_default_argument() -> None:
    arguments = terraform.locals_of("glue")["job_arguments"]
    assert {f"--{name}" for name in deployment.glue_arguments()} == set(arguments)
    read = set(glue_job_arguments.ARGUMENTS) - {*deployment.GLUE_REFERENCE_ARGUMENTS, *deployment.GLUE_OWN_ARGUMENTS}
    assert set(deployment.glue_arguments()) == read
    assert {"--COMPRESSION_TYPE", "--ENGINE"} <= set(arguments)


def test_the_state_machine_passes_each_per_run_glue_argument() -> None:
    passed = definition()["States"]["ConvertInGlue"]["Parameters"]["Arguments"]
    assert {key.removesuffix(".$") for key in passed} == {f"--{name}" for name in deployment.PER_RUN_GLUE_ARGUMENTS}
    job = terraform.resource("glue", "aws_glue_job", "this")
    assert job["default_arguments"] == "${merge(local.glue_arguments, local.job_arguments)}"


def test_the_compression_variable_accepts_the_packages_codecs() -> None:
    condition = terraform.variables("glue")["compression_type"]["validation"][0]["condition"]
    assert set(re.findall(r'"([a-z0-9]+)"', condition)) == set(COMPRESSIONS)
    assert terraform.default("glue", "compression_type") in COMPRESSIONS


def test_glue_defaults_are_the_cost_models() -> None:
    assert terraform.default("glue", "glue_version") == "5.0"
    assert terraform.default("glue", "worker_type") == "G.1X"
    assert terraform.default("glue", "number_of_workers") == 2
    assert terraform.default("glue", "use_flex") is False


def test_the_intake_queue_outlasts_six_intake_timeouts_and_redrives_after_five_receives() -> None:
    queue = terraform.resource("queues", "aws_sqs_queue", "intake")
    assert queue["visibility_timeout_seconds"] == "${var.visibility_timeout_multiplier * var.intake_function_timeout}"
    assert terraform.default("queues", "visibility_timeout_multiplier") >= 6
    assert (
        terraform.default("queues", "intake_function_timeout")
        == terraform.default("functions", "functions")["intake"]["timeout"]
    )
    assert terraform.default("queues", "max_receive_count") == 5


class _CapturingClient:
    def __init__(self) -> None:
        self.request: dict[str, Any] = {}

    def create_table(self, **request: Any) -> None:
        self.request = request


def test_the_table_module_mirrors_the_stores_own_table_definition() -> None:
    client = _CapturingClient()
    table._create(client, "state")
    request = client.request
    locals_ = terraform.locals_of("state_table")
    assert locals_["string_keys"] == [a["AttributeName"] for a in request["AttributeDefinitions"]]
    assert {
        i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in request["GlobalSecondaryIndexes"]
    } == locals_["indexes"]
    assert all(i["Projection"]["ProjectionType"] == "ALL" for i in request["GlobalSecondaryIndexes"])
    assert locals_["ttl_attribute"] == table.TTL_ATTRIBUTE
    resource = terraform.resource("state_table", "aws_dynamodb_table", "this")
    assert [resource["hash_key"], resource["range_key"]] == [k["AttributeName"] for k in request["KeySchema"]]
    assert resource["point_in_time_recovery"][0]["enabled"] is True
    assert terraform.default("state_table", "billing_mode") == request["BillingMode"] == "PAY_PER_REQUEST"


def test_the_schedules_run_recover_every_5_minutes_and_seal_every_15() -> None:
    assert terraform.default("schedules", "recover_schedule") == "rate(5 minutes)"
    assert terraform.default("schedules", "seal_schedule") == "rate(15 minutes)"
