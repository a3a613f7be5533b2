"""Starting the workflow of a manifest: one Step Functions execution, named by the manifest id.

The name makes the start idempotent (review LAMBDA-REL-003, Q14): Step Functions answers a repeated
start of a running execution with the same input with that execution, and refuses any other reuse of
the name with ExecutionAlreadyExists, which here means the manifest's execution exists: success.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import ConfigError, StoreUnavailable, TerminalError, Throttled

_THROTTLED = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "TooManyRequests",
    "RequestLimitExceeded",
}


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN of the execution ``name`` of a (standard) state machine."""
    prefix, sep, machine = state_machine_arn.rpartition(":stateMachine:")
    if not sep:
        raise ConfigError(f"not a state machine ARN: {state_machine_arn!r}")
    return f"{prefix}:execution:{machine}:{name}"


def start_manifest_execution(sfn: Any, state_machine_arn: str, manifest_id: str) -> str:
    """Start the execution of ``manifest_id`` (or find it started); its ARN.

    Throttling and service errors are transient (`Throttled`, `StoreUnavailable`); a missing state
    machine or a refused role is a `ConfigError`.
    """
    return start_execution(sfn, state_machine_arn, manifest_id)[0]


def start_execution(sfn: Any, state_machine_arn: str, manifest_id: str, name: str | None = None) -> tuple[str, bool]:
    """Start the execution ``name`` (the manifest id by default; recovery's re-drives are named
    ``<manifest_id>-r<n>``) of ``manifest_id``: its ARN, and True if started now, False if it existed.

    Every starter sends the same input, ``{"manifest_id": …}`` (the first step reads the rest from the
    store), so a repeated start of a running execution is answered with that execution. Errors as
    `start_manifest_execution`.
    """
    name = name or manifest_id
    try:
        answer = sfn.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps({"manifest_id": manifest_id})
        )
        return str(answer["executionArn"]), True
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ExecutionAlreadyExists":
            return execution_arn(state_machine_arn, name), False
        if code in _THROTTLED:
            raise Throttled(f"StartExecution throttled: {exc}") from exc
        if code in ("StateMachineDoesNotExist", "StateMachineDeleting", "InvalidArn", "AccessDeniedException"):
            raise ConfigError(f"cannot start the workflow of {manifest_id}: {exc}") from exc
        if code in ("InvalidName", "InvalidExecutionInput", "ValidationException"):
            raise TerminalError(f"cannot start the workflow of {manifest_id}: {exc}") from exc
        raise StoreUnavailable(f"StartExecution failed: {exc}") from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"StartExecution failed: {exc}") from exc
