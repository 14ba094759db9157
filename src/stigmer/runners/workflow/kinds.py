"""What each kind of task does once its fields are evaluated: HTTP calls, Python
functions, child runs, approvals and timers.

Each takes a :class:`TaskCall` (the task, its journal key, its attempt, what its start
recorded) and returns the task's outputs, or raises :class:`TaskError`.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import ExecutionQuery, RunJournal
from stigmer.errors import Conflict
from stigmer.resources.kinds import Execution
from stigmer.resources.steps import output_of, plain

TASK_LABEL = "stigmer.ai/task"
ATTEMPT_LABEL = "stigmer.ai/attempt"
HTTP_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.5
FINISHED = (ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED)

# Runs a child execution (claimed here, or followed while another worker runs it) until it
# ends or waits for a person; the engine provides it, so runners need not know engines.
ChildRunner = Callable[[str], Awaitable[Execution]]


class TaskError(Exception):
    """A task attempt failed; ``retryable`` says whether trying again may help."""

    def __init__(self, code: str, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.code, self.message, self.retryable = code, message, retryable


@dataclass
class TaskCall:
    """One attempt of one task, as the runner hands it to a kind."""

    execution_id: str
    environment: str
    task: Task
    key: str
    attempt: int
    started: dict[str, Any] = field(default_factory=dict)
    # Called with True while the attempt waits for a person, False when it goes on.
    blocked: Callable[[bool], None] = lambda _: None


def idempotency_key(call: TaskCall) -> str:
    """The same for every try of one attempt (a retry after a crash), new for the next attempt."""
    return f"{call.execution_id}/{call.key}/{call.attempt}"


# -- http ----------------------------------------------------------------------------------


async def http(call: TaskCall, request: dict[str, Any]) -> dict[str, Any]:
    """Send the request; the response (status, headers, body as JSON when it is JSON) is the output."""
    import httpx

    method = str(request.get("method") or ("POST" if request.get("body") is not None else "GET")).upper()
    url = str(request["url"])
    headers = {str(k): str(v) for k, v in (request.get("headers") or {}).items()}
    if not any(k.lower() == "idempotency-key" for k in headers):
        headers["Idempotency-Key"] = idempotency_key(call)
    query = {str(k): str(v) for k, v in (request.get("query") or {}).items()}
    expected = [int(s) for s in request.get("expectStatus") or []]
    body = request.get("body")
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as client:
            response = await client.request(
                method, url, headers=headers, params=query or None, json=body if body is not None else None
            )
    except httpx.HTTPError as exc:
        raise TaskError("HTTP_ERROR", f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    try:
        payload: Any = response.json()
    except ValueError:
        payload = response.text
    ok = response.status_code in expected if expected else 200 <= response.status_code < 300
    if not ok:
        want = ", ".join(map(str, expected)) if expected else "2xx"
        raise TaskError(
            "HTTP_STATUS",
            f"{method} {url} returned {response.status_code} (expected {want}): {response.text[:300]}",
        )
    return {"status": response.status_code, "headers": dict(response.headers), "body": payload}


# -- python --------------------------------------------------------------------------------


def load_function(target: str) -> Callable[..., Any]:
    """``module:function``, imported from the worker's path (and its working directory)."""
    module_name, _, name = target.partition(":")
    here = str(Path.cwd())
    if here not in sys.path:
        sys.path.append(here)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TaskError(
            "PYTHON_IMPORT",
            f"cannot import {module_name!r}: {exc} (the worker must be able to import it: "
            "run it from the project directory or install the package)",
            retryable=False,
        ) from exc
    function = getattr(module, name, None)
    if not callable(function):
        raise TaskError("PYTHON_IMPORT", f"{module_name} has no function {name!r}", retryable=False)
    return function  # type: ignore[no-any-return]


async def python(call: TaskCall, inputs: dict[str, Any]) -> dict[str, Any]:
    """Call the function with the task's inputs as keyword arguments; a dict it returns is the output."""
    function = load_function(call.task.python)
    try:
        if inspect.iscoroutinefunction(function):
            result = await function(**inputs)
        else:
            result = await asyncio.to_thread(function, **inputs)
    except TaskError:
        raise
    except Exception as exc:
        raise TaskError("PYTHON_ERROR", f"{call.task.python} raised {type(exc).__name__}: {exc}") from exc
    if result is None:
        return {}
    value = result if isinstance(result, dict) else {"output": result}
    try:
        return dict(plain(json.loads(json.dumps(value, default=str))))
    except (TypeError, ValueError) as exc:
        raise TaskError("PYTHON_OUTPUT", f"{call.task.python} returned data that is not JSON: {exc}") from exc


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


def new_agent_child(call: TaskCall, message: str, inputs: dict[str, Any]) -> AgentExecution:
    """The AgentExecution an agent task starts."""
    child = AgentExecution()
    child.spec.agent = call.task.agent
    if inputs:
        child.spec.inputs.update(inputs)
        rendered = json.dumps(inputs, indent=2, ensure_ascii=False)
        message = f"{message}\n\nInputs:\n```json\n{rendered}\n```" if message else rendered
    child.spec.message = message
    child.spec.outputs.extend(call.task.outputs)
    return child


def new_workflow_child(call: TaskCall, inputs: dict[str, Any]) -> WorkflowExecution:
    """The WorkflowExecution a workflow task starts."""
    child = WorkflowExecution()
    child.spec.workflow = call.task.workflow
    if inputs:
        child.spec.inputs.update(inputs)
    return child


# -- approvals and timers --------------------------------------------------------------------


def deadline(now: datetime, seconds: float) -> str:
    """A point in time as the journal writes it."""
    return (now + timedelta(seconds=seconds)).isoformat()


async def sleep_until(moment: str, clock: Callable[[], datetime]) -> None:
    """Sleep until an instant the journal recorded (at once if it has passed)."""
    remaining = (datetime.fromisoformat(moment) - clock()).total_seconds()
    if remaining > 0:
        await asyncio.sleep(remaining)


def approval_decision(step_output: dict[str, Any]) -> dict[str, Any]:
    """The outputs of an approval task: approved, reason, by."""
    return {
        "approved": bool(step_output.get("approved", False)),
        "reason": str(step_output.get("reason", "")),
        "by": str(step_output.get("by", "")),
    }


__all__ = [
    "ATTEMPT_LABEL",
    "TASK_LABEL",
    "ChildRunner",
    "TaskCall",
    "TaskError",
    "approval_decision",
    "cancel_child",
    "child_result",
    "deadline",
    "find_or_create_child",
    "http",
    "idempotency_key",
    "load_function",
    "new_agent_child",
    "new_workflow_child",
    "output_of",
    "python",
    "run_child",
    "sleep_until",
]
