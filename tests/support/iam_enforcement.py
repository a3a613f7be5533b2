"""The AWS deployment on moto with IAM enforced: every part acts as its own Terraform role.

`LeastPrivilege` sets up, on a moto server, before `AwsDeployment` creates anything:

* an administrator (an IAM user allowed ``*``): the test's own clients, which stand in for Terraform
  and the operator (creating resources, putting objects, reading the lake);
* one IAM role per role of ``terraform/modules/iam`` with its policy rendered from ``policies.tf``
  (`tests.support.iam_policies`) for this deployment's names, and its credentials from STS
  ``AssumeRole``: moto evaluates an assumed role's session by its role's inline and attached
  policies (``AssumedRoleAccessKey``), as AWS evaluates a Lambda's or Glue job's execution role.
  The roles trust the administrator (who assumes them), not the AWS services (which do not run here).

`session_for(name)` answers each function, the Glue job and "test" with a boto3 Session of those
credentials; moto's Step Functions interpreter calls Lambda, Glue and SNS with the state machine
role's (`moto_aws.interpreter_acting_as`). Inside `enforced()` moto's enforcement is on
(`moto_aws.iam_enforced`: every request authenticated, and authorised per IAM action and resource).

`ActionRecorder`: botocore hooks on every client of every role record each call answered by the
server (not the answers fault hooks make up) as the IAM actions and resources it needs (`needed`:
a TransactWriteItems as its items' dynamodb:UpdateItem / ConditionCheckItem..., an UploadPart as
s3:PutObject), and every error a call got (an AccessDenied retried away stays recorded).
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.awsrequest import AWSResponse

from tests.support import moto_aws
from tests.support.aws_deployment import FUNCTIONS, GLUE_JOB, AwsDeployment
from tests.support.iam_policies import arns_for, role_policies
from tests.support.moto_server import REGION, MotoServer, make_client

ACCOUNT = "123456789012"  # moto's default account
ADMIN = "n2p-admin"
#: the roles acting in the run: each function's, the Glue job's, the state machine's (schedules: none here)
ROLE_OF = {**{f: f for f in FUNCTIONS}, GLUE_JOB: "glue_job", "state_machine": "state_machine"}
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "InvalidClientTokenId")
_DENIED += ("SignatureDoesNotMatch", "UnrecognizedClientException", "AuthorizationError", "InvalidAccessKeyId")

_S3_ACTIONS = {
    "PutObject": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "AbortMultipartUpload": "AbortMultipartUpload",
    "GetObject": "GetObject",
    "HeadObject": "GetObject",
    "DeleteObject": "DeleteObject",
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListParts": "ListMultipartUploadParts",
}
_DYNAMODB_ITEM = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
#: SQS batch operations are authorised as their single action (AWS service authorization reference)
_SQS_ACTIONS = {"DeleteMessageBatch": "DeleteMessage", "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}
_SQS_ACTIONS["SendMessageBatch"] = "SendMessage"


def needed(service: str, operation: str, params: dict[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs one request needs, per the AWS Service Authorization
    Reference, for the services this deployment calls (others: ``service:Operation`` on ``*``)."""
    at = f"{region}:{account}"
    if service == "dynamodb":
        table = f"arn:aws:dynamodb:{at}:table"
        if operation == "TransactWriteItems":
            return [
                (f"dynamodb:{_DYNAMODB_ITEM[kind]}", f"{table}/{body['TableName']}")
                for item in params.get("TransactItems", [])
                for kind, body in item.items()
            ]
        if operation == "TransactGetItems":
            return [("dynamodb:GetItem", f"{table}/{i['Get']['TableName']}") for i in params.get("TransactItems", [])]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", f"{table}/{name}") for name in params.get("RequestItems", {})]
        arn = f"{table}/{params.get('TableName', '*')}"
        if params.get("IndexName"):
            arn += f"/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", arn)]
    if service == "s3":
        bucket = params.get("Bucket", "*")
        if operation == "DeleteObjects":
            keys = [o["Key"] for o in params.get("Delete", {}).get("Objects", [])]
            return [("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{k}") for k in keys]
        action = _S3_ACTIONS.get(operation, operation)
        if operation == "CopyObject":
            source = unquote(str(params.get("CopySource", ""))).lstrip("/")
            return [
                ("s3:PutObject", f"arn:aws:s3:::{bucket}/{params['Key']}"),
                ("s3:GetObject", f"arn:aws:s3:::{source}"),
            ]
        key = params.get("Key")
        return [(f"s3:{action}", f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}")]
    if service == "sqs":
        name = str(params.get("QueueUrl", "*")).rstrip("/").split("/")[-1]
        return [(f"sqs:{_SQS_ACTIONS.get(operation, operation)}", f"arn:aws:sqs:{at}:{name}")]
    if service == "sns":
        return [(f"sns:{operation}", str(params.get("TopicArn", "*")))]
    if service == "states":
        arn = params.get("executionArn") or params.get("stateMachineArn") or "*"
        return [(f"states:{operation}", str(arn))]
    if service == "lambda":
        name = str(params.get("FunctionName", "*"))
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{at}:function:{name}"
        return [("lambda:InvokeFunction" if operation == "Invoke" else f"lambda:{operation}", arn)]
    if service == "glue":
        if "JobName" in params:
            return [(f"glue:{operation}", f"arn:aws:glue:{at}:job/{params['JobName']}")]
        if "DatabaseName" in params:  # catalog operations need the catalog, database (and table) ARNs
            database = params["DatabaseName"]
            table = params.get("Name") or params.get("TableInput", {}).get("Name")
            arns = [f"arn:aws:glue:{at}:catalog", f"arn:aws:glue:{at}:database/{database}"]
            arns += [f"arn:aws:glue:{at}:table/{database}/{table}"] if table else []
            return [(f"glue:{operation}", arn) for arn in arns]
        if operation == "GetConnection":
            return [("glue:GetConnection", f"arn:aws:glue:{at}:connection/{params.get('Name')}")]
    return [(f"{service}:{operation}", "*")]


class ActionRecorder:
    """What each role's clients asked for (IAM actions and resources) and every error they got."""

    def __init__(self) -> None:
        self.used: dict[str, set[tuple[str, str]]] = defaultdict(set)
        self.calls: dict[str, set[str]] = defaultdict(set)
        self.errors: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def attach(self, role: str, client: Any) -> None:
        """Record every call ``client`` makes as ``role``'s."""
        service = client.meta.service_model.endpoint_prefix

        def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            context["n2p_needed"] = needed(service, model.name, params, REGION, ACCOUNT)

        def after(http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            if not isinstance(http_response, AWSResponse):
                return  # an answer a fault hook made up (tests.support.aws_faults): nothing reached AWS
            code = (parsed or {}).get("Error", {}).get("Code")
            with self._lock:
                self.calls[role].add(f"{service}:{model.name}")
                self.used[role].update(context.get("n2p_needed", ()))
                if code:
                    self.errors.append({"role": role, "call": f"{service}:{model.name}", "code": str(code)})

        client.meta.events.register("before-parameter-build", before)
        client.meta.events.register("after-call", after)

    def denials(self) -> list[dict[str, str]]:
        """The calls answered with an authentication or authorisation error."""
        return [e for e in self.errors if e["code"] in _DENIED]

    def actions(self, role: str) -> set[str]:
        """The IAM actions ``role`` used."""
        return {action for action, _ in self.used.get(role, set())}


class _RecordingSession(boto3.session.Session):
    """A boto3 Session whose clients report to the recorder as ``role``."""

    def __init__(self, role: str, recorder: ActionRecorder, **kwargs: Any) -> None:
        super().__init__(region_name=REGION, **kwargs)
        self._role, self._recorder = role, recorder

    def client(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        made = super().client(*args, **kwargs)
        self._recorder.attach(self._role, made)
        return made


class LeastPrivilege:
    """The administrator, the roles with their Terraform policies, their credentials (module docstring).

    ``drop`` removes one action from one role's rendered policy (the negative test).
    """

    def __init__(self, moto: MotoServer, aws: AwsDeployment, *, drop: tuple[str, str] | None = None) -> None:
        self.moto, self.aws = moto, aws
        self.recorder = ActionRecorder()
        self.policies = role_policies(self.arns())
        if drop is not None:
            role, action = drop
            for statement in self.policies[role]["Statement"]:
                statement["Action"] = [a for a in statement["Action"] if a != action]
        self.credentials = self._create_identities()
        aws.session_for = self.session_for

    def arns(self) -> dict[str, list[str]]:
        """``local.arns`` for this deployment's names (those it does not create are named anyway)."""
        aws, suffix, at = self.aws, self.aws.suffix, f"{REGION}:{ACCOUNT}"
        return arns_for(
            region=REGION,
            account=ACCOUNT,
            function_names={f: aws.function_name(f) for f in FUNCTIONS},
            state_machine_name=f"n2p-{suffix}",
            glue_job_name=f"convert-{suffix}",
            glue_database_name=f"lake_{suffix}",
            glue_connection_name=f"vpc-{suffix}",
            table_arn=f"arn:aws:dynamodb:{at}:table/{aws.table}",
            landing_bucket=aws.landing_bucket,
            landing_prefix="landing/",
            lake_bucket=aws.lake_bucket,
            artifacts_bucket=f"artifacts-{suffix}",
            kms_key_arn=f"arn:aws:kms:{at}:key/00000000-0000-0000-0000-{suffix:0>12}",
            intake_queue_arn=f"arn:aws:sqs:{at}:intake-{suffix}",
            failed_invocations_queue_arn=f"arn:aws:sqs:{at}:failed-invocations-{suffix}",
            failure_topic_arn=f"arn:aws:sns:{at}:failures-{suffix}",
        )

    def granted(self, role: str) -> set[str]:
        """The IAM actions ``role``'s policy grants."""
        return {a for s in self.policies[role]["Statement"] for a in s["Action"]}

    def grants(self, role: str) -> set[str]:
        """Every grant of ``role``'s policy as ``"<statement sid>/<action>"``."""
        return {f"{s['Sid']}/{a}" for s in self.policies[role]["Statement"] for a in s["Action"]}

    def grants_used(self, role: str, used: set[tuple[str, str]]) -> set[str]:
        """The grants (``"<sid>/<action>"``) that allowed some of ``used`` (action, resource) pairs:
        a statement's action on a resource its ARNs match (``*`` as in IAM), so a grant on another
        resource of the same action (the Glue script's s3:GetObject, say) is not counted used."""
        found = set()
        for statement in self.policies[role]["Statement"]:
            patterns = [re.compile("^" + re.escape(r).replace(r"\*", ".*") + "$") for r in statement["Resource"]]
            for action, resource in used:
                if action in statement["Action"] and any(p.match(resource) for p in patterns):
                    found.add(f"{statement['Sid']}/{action}")
        return found

    def _create_identities(self) -> dict[str, dict[str, str]]:
        """Created before enforcement is on (moto lets unsigned setup through until then)."""
        iam, sts = make_client("iam", self.moto.endpoint_url), make_client("sts", self.moto.endpoint_url)
        suffix = self.aws.suffix
        admin = iam.create_user(UserName=f"{ADMIN}-{suffix}")["User"]
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName=admin["UserName"], PolicyName="admin", PolicyDocument=json.dumps(everything))
        key = iam.create_access_key(UserName=admin["UserName"])["AccessKey"]
        found = {"test": {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}}
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": admin["Arn"]}, "Action": "sts:AssumeRole"}],
        }
        for role in sorted(set(ROLE_OF.values())):
            name = f"n2p-{role.replace('_', '-')}-{suffix}"
            arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
            policy = json.dumps(self.policies[role])
            iam.put_role_policy(RoleName=name, PolicyName="least-privilege", PolicyDocument=policy)
            made = sts.assume_role(RoleArn=arn, RoleSessionName=role, DurationSeconds=3600)["Credentials"]
            found[role] = {
                "aws_access_key_id": made["AccessKeyId"],
                "aws_secret_access_key": made["SecretAccessKey"],
                "aws_session_token": made["SessionToken"],
            }
        return found

    def session_for(self, name: str) -> boto3.session.Session:
        """A function's, the Glue job's ("glue-convert") or the test's ("test": the administrator) session."""
        role = "test" if name == "test" else ROLE_OF[name]
        return _RecordingSession(role, self.recorder, **self.credentials[role])

    @contextmanager
    def enforced(self) -> Iterator[list[dict[str, str]]]:
        """Enforcement on, the interpreter acting as the state machine role; yields the server's denials."""
        with ExitStack() as stack:
            denials = stack.enter_context(moto_aws.iam_enforced(needed))
            record = lambda client: self.recorder.attach("state_machine", client)  # noqa: E731
            stack.enter_context(moto_aws.interpreter_acting_as(self.credentials["state_machine"], record))
            yield denials
