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

_THROTTLED = {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}


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
    try:
        answer = sfn.start_execution(
            stateMachineArn=state_machine_arn, name=manifest_id, input=json.dumps({"manifest_id": manifest_id})
        )
        return str(answer["executionArn"])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ExecutionAlreadyExists":
            return execution_arn(state_machine_arn, manifest_id)
        if code in _THROTTLED:
            raise Throttled(f"StartExecution throttled: {exc}") from exc
        if code in ("StateMachineDoesNotExist", "StateMachineDeleting", "InvalidArn", "AccessDeniedException"):
            raise ConfigError(f"cannot start the workflow of {manifest_id}: {exc}") from exc
        if code in ("InvalidName", "InvalidExecutionInput", "ValidationException"):
            raise TerminalError(f"cannot start the workflow of {manifest_id}: {exc}") from exc
        raise StoreUnavailable(f"StartExecution failed: {exc}") from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"StartExecution failed: {exc}") from exc
