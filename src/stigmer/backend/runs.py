"""Execution requests the CLI and the SDK share, built on the Backend protocol alone."""

from __future__ import annotations

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import Backend
from stigmer.errors import Conflict, InvalidArgument
from stigmer.resources.kinds import API_VERSION, Execution

FINISHED = (ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED)


def retried_execution(
    backend: Backend, execution_id: str, *, from_task: str = "", definition: str = "pinned"
) -> WorkflowExecution:
    """Record a new run of a finished workflow run that reuses its recorded task results:
    those of every task before ``from_task`` (or of every completed task, without it), on
    the version it ran (``definition="pinned"``) or the latest one.

    Raises:
        InvalidArgument: It is an agent run, or ``definition`` is neither "pinned" nor "latest".
        Conflict: The run has not finished.
    """
    if definition not in ("pinned", "latest"):
        raise InvalidArgument(
            f"definition must be 'pinned' or 'latest', got {definition!r}", field="definition"
        )
    source = backend.get_execution(execution_id)
    if not isinstance(source, WorkflowExecution):
        raise InvalidArgument(
            f"{execution_id} is an agent execution; only workflow runs are retried",
            hint="run the agent again instead",
        )
    if source.status.phase not in FINISHED:
        raise Conflict(
            f"execution {execution_id} is {ExecutionPhase.Name(source.status.phase)}; "
            "only a finished run is retried",
            hint="wait for it to finish, or cancel it first",
        )
    retried = WorkflowExecution(api_version=API_VERSION, kind="WorkflowExecution")
    retried.spec.CopyFrom(source.spec)
    retried.spec.retry_of, retried.spec.retry_from = execution_id, from_task
    retried.spec.ClearField("parent_execution_id")
    if definition == "latest":
        retried.spec.workflow_version = 0
    retried.metadata.labels.update(
        {k: v for k, v in source.metadata.labels.items() if not k.startswith("stigmer.ai/")}
    )
    return backend.create_execution(retried)


def check_resumable(backend: Backend, execution_id: str) -> Execution:
    """The run, when there is something left to run of it.

    Raises:
        Conflict: It waits for an approval, or it has finished.
    """
    current = backend.get_execution(execution_id)
    phase = current.status.phase
    if phase == ExecutionPhase.WAITING_APPROVAL:
        raise Conflict(
            f"execution {execution_id} is waiting for an approval",
            hint=f"approve or reject it first (stigmer execution approve {execution_id})",
        )
    if phase in FINISHED:
        raise Conflict(
            f"execution {execution_id} is {ExecutionPhase.Name(phase)}; there is nothing left to run"
        )
    return current


__all__ = ["FINISHED", "check_resumable", "retried_execution"]
