"""Child runs: what the ``agent`` and ``workflow`` kinds share.

An attempt of either starts one child execution (found again after a crash by its task
and attempt labels), waits while the engine runs or follows it, and takes its outputs
from the child's record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.backend.protocol import ExecutionQuery, RunJournal
from stigmer.errors import Conflict
from stigmer.resources.kinds import Execution
from stigmer.resources.names import validate_name
from stigmer.resources.steps import plain
from stigmer.resources.trace_ids import attempt_span_id, traceparent
from stigmer.runners.workflow.attempt import Attempt, Begun, Failure
from stigmer.runners.workflow.kinds.base import Attempts, Fields, TaskCall, TaskError, TaskKind, Walk

TASK_LABEL = "stigmer.ai/task"
ATTEMPT_LABEL = "stigmer.ai/attempt"
POLL_SECONDS = 0.5
FINISHED = (ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED)

# Runs a child execution (claimed here, or followed while another worker runs it) until it
# ends or waits for a person; the engine provides it, so runners need not know engines.
ChildRunner = Callable[[str], Awaitable[Execution]]


class ChildKind(TaskKind):
    """A kind whose attempt is one child run of the resource its field names."""

    durable = True
    resource: ClassVar[str] = ""  # the kind of resource the field names: Agent, Workflow

    def validate(self, task: Task, field: str) -> None:
        name = getattr(task, self.field)
        if name:
            validate_name(name, field=f"{field}.{self.label}")

    def references(self, task: Task, field: str) -> list[tuple[str, str, str]]:
        return [(self.resource, getattr(task, self.field), f"{field}.{self.label}")]

    def describe(self, task: Task) -> str:
        return f"{self.label} {getattr(task, self.field)}"

    def new_child(self, call: TaskCall, fields: Fields, inputs: dict[str, Any], redact: Any) -> Execution:
        """The execution an attempt starts (``inputs`` are masked already; ``redact`` masks more)."""
        raise NotImplementedError

    async def begin(self, run: Attempts, call: Attempt, started: TaskCall, fields: Fields) -> Begun:
        child_id = str(started.started.get("childExecutionId", ""))
        if not child_id:
            # A child's spec is stored as it is: values from secrets are masked there (a child
            # reads its secrets from its own environment, which it runs with).
            inputs = run.redact(fields.inputs(call.task))
            child = self.new_child(started, fields, inputs, run.redact)
            child_id = find_or_create_child(run.backend, started, child)
            run.record_start(started, childExecutionId=child_id)
        return Begun(self.field, child_id=child_id)

    async def wait(
        self, walk: Walk, call: Attempt, begun: Begun
    ) -> tuple[dict[str, Any] | None, Failure | None]:
        await walk.child(call, begun, walk.blocker(call.key, True))
        return None, None

    def conclude(
        self, run: Attempts, call: Attempt, begun: Begun, outputs: dict[str, Any] | None
    ) -> dict[str, Any]:
        return child_result(run.backend.get_execution(begun.child_id))


# -- child executions ------------------------------------------------------------------------


def find_or_create_child(backend: RunJournal, call: TaskCall, child: Execution) -> str:
    """The child run of this attempt: the one created before a crash, or a new one."""
    labels = {TASK_LABEL: call.key, ATTEMPT_LABEL: str(call.attempt)}
    kind = "AgentExecution" if isinstance(child, AgentExecution) else "WorkflowExecution"
    found = backend.list_executions(
        ExecutionQuery(kind=kind, parent_execution_id=call.execution_id, labels=labels, page_size=1)
    )
    if found.items:
        return found.items[0].metadata.id
    child.metadata.labels.update(labels)
    child.spec.parent_execution_id = call.execution_id
    child.spec.environment = call.environment
    if call.trace_id:
        span = attempt_span_id(call.execution_id, call.key, call.attempt)
        child.spec.trace_parent = traceparent(call.trace_id, span)
    return backend.create_execution(child).metadata.id


async def run_child(backend: RunJournal, call: TaskCall, child_id: str, runner: ChildRunner) -> Execution:
    """Drive a child run to its end, waiting (unblocked by nobody but a person) at its approvals."""
    while True:
        done = await runner(child_id)
        if done.status.phase in FINISHED:
            return done
        call.blocked(True)
        try:
            while backend.get_execution(child_id).status.phase == ExecutionPhase.WAITING_APPROVAL:
                await asyncio.sleep(POLL_SECONDS)
        finally:
            call.blocked(False)


def cancel_child(backend: RunJournal, child_id: str, worker_id: str, reason: str) -> None:
    """Stop a child run for good: ask it to stop, and end it now if nobody runs it."""
    try:
        current = backend.cancel_execution(child_id)
    except Conflict:
        return  # already finished
    if current.status.phase in FINISHED:
        return
    claimed = backend.claim_execution(worker_id, execution_id=child_id, lease_seconds=30)
    if claimed is None:
        return  # a live worker runs it; it sees the cancel at its next step
    claimed.status.phase = ExecutionPhase.CANCELLED
    claimed.status.error.code, claimed.status.error.message = "CANCELLED", reason
    if isinstance(claimed, AgentExecution):
        claimed.status.ClearField("messages")
        claimed.status.ClearField("tool_calls")
    else:
        claimed.status.ClearField("tasks")
    claimed.status.end_time.GetCurrentTime()
    backend.update_execution_status(claimed, worker_id=worker_id)


def child_result(done: Execution) -> dict[str, Any]:
    """A finished child's outputs, or the TaskError its failure is."""
    from stigmer.resources.codec import to_dict

    status = done.status
    if status.phase != ExecutionPhase.COMPLETED:
        message = status.error.message or ExecutionPhase.Name(status.phase)
        raise TaskError(status.error.code or "CHILD_FAILED", f"{done.metadata.id}: {message}")
    outputs = plain(to_dict(status.outputs)) if status.HasField("outputs") else {}
    if isinstance(done, AgentExecution) and not done.spec.outputs:
        return {"output": done.status.output}
    return dict(outputs)


__all__ = [
    "ATTEMPT_LABEL",
    "FINISHED",
    "POLL_SECONDS",
    "TASK_LABEL",
    "ChildKind",
    "ChildRunner",
    "cancel_child",
    "child_result",
    "find_or_create_child",
    "run_child",
]
