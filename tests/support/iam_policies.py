"""The IAM policies of ``terraform/modules/iam`` rendered to policy JSON, for any deployment's ARNs.

The module writes every statement out (``policies.tf``: one ``aws_iam_policy_document`` per role,
literal actions, ``resources = local.arns.<key>``), and ``main.tf``'s ``local.arns`` says what each
key is. `arns_for` builds that map for given names (a moto deployment's, say) the way ``main.tf``
does; `role_policies` turns the documents into ``{"Version": ..., "Statement": [...]}`` with them.
The shared documents (X-Ray, Step Functions log delivery) and AWS managed policies are left out:
they hold no resource of ours. The least-privilege test runs the e2e flow with these policies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tests.support import terraform

LAMBDA_ROLES = ("intake", "start", "convert", "commit", "compensate", "put_back", "recover", "seal")
OTHER_ROLES = ("state_machine", "glue_job", "schedules")
_REFERENCE = re.compile(r"^\$\{local\.arns\.([a-z_]+)\}$")


def arns_for(
    *,
    region: str,
    account: str,
    function_names: Mapping[str, str],
    state_machine_name: str,
    glue_job_name: str,
    glue_database_name: str,
    glue_connection_name: str,
    table_arn: str,
    landing_bucket: str,
    landing_prefix: str,
    lake_bucket: str,
    artifacts_bucket: str,
    kms_key_arn: str,
    intake_queue_arn: str,
    failed_invocations_queue_arn: str,
    failure_topic_arn: str,
    partition: str = "aws",
) -> dict[str, list[str]]:
    """``local.arns`` of the iam module for these names (mirrors main.tf; a test checks the keys)."""
    at = f"{region}:{account}"
    function = {k: f"arn:{partition}:lambda:{at}:function:{n}" for k, n in function_names.items()}

    def with_versions(keys: tuple[str, ...]) -> list[str]:
        return [arn for k in keys for arn in (function[k], f"{function[k]}:*")]

    logs = f"arn:{partition}:logs:{at}:log-group"
    arns = {
        "table": [table_arn, f"{table_arn}/index/*"],
        "landing_bucket": [f"arn:{partition}:s3:::{landing_bucket}"],
        "landing_objects": [f"arn:{partition}:s3:::{landing_bucket}/{landing_prefix}*"],
        "lake_bucket": [f"arn:{partition}:s3:::{lake_bucket}"],
        "lake_objects": [f"arn:{partition}:s3:::{lake_bucket}/*"],
        "glue_script_objects": [f"arn:{partition}:s3:::{artifacts_bucket}/glue/*"],
        "glue_temp_objects": [f"arn:{partition}:s3:::{artifacts_bucket}/tmp/*"],
        "kms_key": [kms_key_arn],
        "intake_queue": [intake_queue_arn],
        "failed_invocations": [failed_invocations_queue_arn],
        "failure_topic": [failure_topic_arn],
        "state_machine": [f"arn:{partition}:states:{at}:stateMachine:{state_machine_name}"],
        "executions": [f"arn:{partition}:states:{at}:execution:{state_machine_name}:*"],
        "glue_job": [f"arn:{partition}:glue:{at}:job/{glue_job_name}"],
        "glue_connection": [f"arn:{partition}:glue:{at}:connection/{glue_connection_name}"],
        "glue_catalog": [
            f"arn:{partition}:glue:{at}:catalog",
            f"arn:{partition}:glue:{at}:database/{glue_database_name}",
            f"arn:{partition}:glue:{at}:table/{glue_database_name}/*",
        ],
        "step_functions": [
            a
            for k in ("start", "convert", "commit", "compensate", "put_back")
            for a in (function[k], f"{function[k]}:*")
        ],
        "scheduled_functions": with_versions(("recover", "seal")),
        "glue_logs": [
            f"arn:{partition}:logs:{at}:log-group:/aws-glue/*",
            f"arn:{partition}:logs:{at}:log-group:/aws-glue/*:*",
        ],
    }
    for key, name in function_names.items():
        arns[f"logs_{key}"] = [f"{logs}:/aws/lambda/{name}:*"]
    return arns


def symbolic_statements() -> dict[str, list[dict[str, Any]]]:
    """role -> its statements as the module writes them: sid, actions, and the ``local.arns`` key."""
    documents = terraform.blocks("iam", "data", "aws_iam_policy_document")
    found: dict[str, list[dict[str, Any]]] = {}
    for role in (*LAMBDA_ROLES, *OTHER_ROLES):
        statements = []
        for statement in documents[role]["statement"]:
            match = _REFERENCE.match(statement["resources"])
            if not match:
                where, got = f"{role}/{statement.get('sid')}", statement["resources"]
                raise ValueError(f"{where}: resources must be one local.arns key, got {got!r}")
            statements.append({"sid": statement["sid"], "actions": list(statement["actions"]), "arns": match.group(1)})
        found[role] = statements
    return found


def role_policies(arns: Mapping[str, list[str]]) -> dict[str, dict[str, Any]]:
    """role -> its least-privilege policy JSON with ``arns`` (from `arns_for`) substituted."""
    return {
        role: {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": s["sid"], "Effect": "Allow", "Action": s["actions"], "Resource": list(arns[s["arns"]])}
                for s in statements
            ],
        }
        for role, statements in symbolic_statements().items()
    }
