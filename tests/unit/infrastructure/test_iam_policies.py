"""The IAM module's least-privilege documents: exact ARNs only, and renderable for a test deployment."""

from __future__ import annotations

import re

from ndjson2parquet.aws import deployment
from tests.support import iam_policies, terraform

NAMES = {k: f"n2p-{k.replace('_', '-')}" for k in deployment.FUNCTIONS}
ARNS = iam_policies.arns_for(
    region="us-east-1",
    account="123456789012",
    function_names=NAMES,
    state_machine_name="n2p-workflow",
    glue_job_name="n2p-convert",
    glue_database_name="n2p_lake",
    glue_connection_name="n2p-vpc",
    table_arn="arn:aws:dynamodb:us-east-1:123456789012:table/n2p-state",
    landing_bucket="n2p-landing",
    landing_prefix="incoming/",
    lake_bucket="n2p-lake",
    artifacts_bucket="n2p-artifacts",
    kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
    intake_queue_arn="arn:aws:sqs:us-east-1:123456789012:n2p-intake",
    failed_invocations_queue_arn="arn:aws:sqs:us-east-1:123456789012:n2p-failed-invocations",
    failure_topic_arn="arn:aws:sns:us-east-1:123456789012:n2p-workflow-failures",
)


def test_the_renderer_knows_every_resource_key_the_module_defines() -> None:
    assert set(ARNS) == set(terraform.locals_of("iam")["arns"])


def test_every_role_has_a_policy_and_every_statement_names_a_known_resource_key() -> None:
    statements = iam_policies.symbolic_statements()
    assert set(statements) == {*deployment.FUNCTIONS, "state_machine", "glue_job", "schedules"}
    assert {s["arns"] for role in statements.values() for s in role} <= set(ARNS)
    attached = re.findall(
        r"(\w+) = data\.aws_iam_policy_document\.(\w+)\[0\]\.json", terraform.locals_of("iam")["policies"]
    )
    assert dict(attached) == {role: role for role in statements}


def test_no_least_privilege_statement_allows_a_wildcard_resource_or_action() -> None:
    for role, policy in iam_policies.role_policies(ARNS).items():
        for statement in policy["Statement"]:
            assert "*" not in statement["Resource"], (role, statement["Sid"])
            assert not any(a.endswith("*") for a in statement["Action"]), (role, statement["Sid"])


def test_only_the_intake_recover_and_seal_start_executions_and_only_of_the_workflow() -> None:
    policies = iam_policies.role_policies(ARNS)
    starters = {
        role
        for role, policy in policies.items()
        for s in policy["Statement"]
        if "states:StartExecution" in s["Action"] and s["Resource"] == ARNS["state_machine"]
    }
    assert starters == {"intake", "recover", "seal"}
    assert all(
        s["Resource"] == ARNS["state_machine"]
        for p in policies.values()
        for s in p["Statement"]
        if "states:StartExecution" in s["Action"]
    )


def test_only_the_state_machine_runs_the_glue_job_and_only_that_job() -> None:
    policies = iam_policies.role_policies(ARNS)
    runners = {role for role, p in policies.items() for s in p["Statement"] if "glue:StartJobRun" in s["Action"]}
    assert runners == {"state_machine"}
    (statement,) = [s for s in policies["state_machine"]["Statement"] if "glue:StartJobRun" in s["Action"]]
    assert statement["Resource"] == ["arn:aws:glue:us-east-1:123456789012:job/n2p-convert"]


def test_every_lambda_writes_only_its_own_log_group() -> None:
    policies = iam_policies.role_policies(ARNS)
    for key, name in NAMES.items():
        logs = [s for s in policies[key]["Statement"] if "logs:PutLogEvents" in s["Action"]]
        assert [s["Resource"] for s in logs] == [
            [f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{name}:*"]
        ]


def test_every_role_takes_the_optional_permissions_boundary() -> None:
    role = terraform.resource("iam", "aws_iam_role", "this")
    assert role["permissions_boundary"] == "${var.permissions_boundary_arn}"
    assert terraform.default("iam", "permissions_boundary_arn") is None
