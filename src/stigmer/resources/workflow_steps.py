"""The format of a workflow execution's durable steps, and the task states they make.

The workflow runner journals each task as append-only steps, so the event order of a
watch only grows even when tasks run in parallel:

- ``start:KEY`` (completed when written): an attempt began; input ``{attempt}``, plus
  ``childExecutionId`` for agent and workflow tasks and ``until`` for ``wait`` tasks;
- ``end:KEY`` (completed or failed): the attempt ended; output ``{phase, outputs}``, and
  ``retryAt`` when a failed attempt will be tried again;
- ``approval:KEY`` (waiting until a person decides, then completed in place).

``KEY`` is the task's name, or ``NAME[i]`` for item ``i`` of a ``forEach``. Task states are
assembled from the steps when an execution is read; they are never stored twice.
"""

from __future__ import annotations

from typing import Any

from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import TaskState
from stigmer.resources.steps import APPROVAL, WAITING, input_of, output_of

START = "start:"
END = "end:"


def item_key(task: str, index: int) -> str:
    """The journal key of one item of a forEach task."""
    return f"{task}[{index}]"


def _phase(name: str) -> ExecutionPhase.ValueType:
    try:
        return ExecutionPhase.Value(name)
    except ValueError:
        return ExecutionPhase.EXECUTION_PHASE_UNSPECIFIED


def task_states(steps: list[ExecutionStep]) -> list[TaskState]:
    """Each task's (and forEach item's) state, in the order the tasks started."""
    states: dict[str, TaskState] = {}

    def state(key: str) -> TaskState:
        if key not in states:
            states[key] = TaskState(name=key, phase=ExecutionPhase.PENDING)
        return states[key]

    for step in steps:
        kind, _, key = step.name.partition(":")
        kind += ":"
        if kind == START:
            ts = state(key)
            inp = input_of(step)
            ts.phase = ExecutionPhase.RUNNING
            ts.attempts = int(inp.get("attempt", ts.attempts + 1))
            ts.child_execution_id = str(inp.get("childExecutionId", ts.child_execution_id))
            if not ts.HasField("start_time"):
                ts.start_time.CopyFrom(step.start_time)
            ts.ClearField("end_time")
        elif kind == END:
            ts = state(key)
            out = output_of(step)
            if not ts.HasField("start_time"):
                ts.start_time.CopyFrom(step.start_time)
            ts.attempts = max(ts.attempts, int(input_of(step).get("attempt", 0)))
            ts.ClearField("outputs")
            if out.get("outputs"):
                ts.outputs.update(out["outputs"])
            ts.ClearField("error")
            if step.error or out.get("errorCode"):
                ts.error.code = str(out.get("errorCode", "TASK_FAILED"))
                ts.error.message = step.error
            if out.get("retryAt"):
                ts.phase = ExecutionPhase.RUNNING  # failed, another attempt is due
                continue
            ts.phase = _phase(str(out.get("phase", "COMPLETED")))
            ts.end_time.CopyFrom(step.end_time if step.HasField("end_time") else step.start_time)
        elif kind == APPROVAL and step.status == WAITING and key in states:
            states[key].phase = ExecutionPhase.WAITING_APPROVAL
    return list(states.values())


def outputs_of(step: ExecutionStep) -> dict[str, Any]:
    """The outputs an ``end:`` step recorded."""
    value = output_of(step).get("outputs") or {}
    return dict(value) if isinstance(value, dict) else {}


__all__ = ["END", "START", "item_key", "outputs_of", "task_states"]
