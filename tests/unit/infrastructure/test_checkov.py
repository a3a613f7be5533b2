"""checkov over terraform/: no failed check, and the IAM checks really evaluated our policies.

checkov passes what it cannot read: a policy whose statements come from a ``dynamic`` block was
"passed" with a wildcard in it. So besides asking for the IAM checks among the passed ones, a copy
of the Terraform with a wildcard statement planted in every role's policy must fail them.
checkov lives in its own virtual environment (it pins an old boto3): scripts/setup.sh makes
.ci/checkov-venv; CHECKOV names another executable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support import iam_policies, terraform

CHECKOV = Path(os.environ.get("CHECKOV", terraform.ROOT / ".ci" / "checkov-venv" / "bin" / "checkov"))
#: the checks of checkov 3.3.30 that read an aws_iam_policy_document's statements (CKV_AWS_289/290/355
#: are the same rules for JSON policies: aws_iam_policy and friends, which these modules do not write)
IAM_CHECKS = {
    "CKV_AWS_1",  # no full "*:*" admin
    "CKV_AWS_49",  # no "*" action with "*" resource
    "CKV_AWS_107",  # no credentials exposure
    "CKV_AWS_108",  # no data exfiltration
    "CKV_AWS_109",  # no permissions management / resource exposure without constraints
    "CKV_AWS_110",  # no privilege escalation
    "CKV_AWS_111",  # no write access without constraints
    "CKV_AWS_283",  # no IAM access without constraints
    "CKV_AWS_356",  # no "*" resource for restrictable actions
    "CKV_AWS_358",  # no wildcard in OIDC trust
    "CKV2_AWS_40",  # no full IAM privileges
}
ROLES = (*iam_policies.LAMBDA_ROLES, *iam_policies.OTHER_ROLES)
PLANTED = """
  statement {
    sid       = "Planted"
    actions   = ["iam:PassRole", "s3:PutObject"]
    resources = ["*"]
  }
"""


def checkov(directory: Path) -> dict[str, Any]:
    assert CHECKOV.exists(), f"checkov is not installed at {CHECKOV}: run scripts/setup.sh (or set CHECKOV)"
    done = subprocess.run(
        [str(CHECKOV), "-d", str(directory), "--framework", "terraform", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = json.loads(done.stdout)
    (report,) = report if isinstance(report, list) else [report]
    return report


def verdicts(report: dict[str, Any], outcome: str) -> dict[str, set[str]]:
    """resource -> the check ids with that outcome (passed_checks, failed_checks, skipped_checks)."""
    found: dict[str, set[str]] = {}
    for check in report["results"][outcome]:
        found.setdefault(check["resource"], set()).add(check["check_id"])
    return found


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return checkov(terraform.TERRAFORM)


def test_checkov_fails_no_check(report: dict[str, Any]) -> None:
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] > 50  # it read the modules, not an empty folder


def test_every_skip_is_inline_with_a_reason() -> None:
    for path in terraform.TERRAFORM.rglob("*.tf"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "checkov:skip" in line:
                assert re.fullmatch(r"\s*#checkov:skip=CKV2?_AWS_\d+:\S.{20,}", line), f"{path}: {line.strip()}"


@pytest.mark.parametrize("role", ROLES)
def test_the_iam_checks_passed_each_roles_policy(report: dict[str, Any], role: str) -> None:
    passed = verdicts(report, "passed_checks").get(f"module.iam.aws_iam_policy_document.{role}", set())
    assert passed >= IAM_CHECKS


def test_the_iam_checks_read_the_statements_a_wildcard_planted_in_each_policy_fails(tmp_path: Path) -> None:
    copy = tmp_path / "terraform"
    shutil.copytree(terraform.TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform*"))
    policies = copy / "modules" / "iam" / "policies.tf"
    text = policies.read_text(encoding="utf-8")
    planted, count = re.subn(
        r'(data "aws_iam_policy_document" "\w+" \{\n  count = var\.create \? 1 : 0\n)', r"\1" + PLANTED, text
    )
    assert count == len(ROLES)
    policies.write_text(planted, encoding="utf-8")
    failed = verdicts(checkov(copy), "failed_checks")
    for role in ROLES:
        assert failed.get(f"module.iam.aws_iam_policy_document.{role}", set()) >= {"CKV_AWS_111", "CKV_AWS_356"}, role
