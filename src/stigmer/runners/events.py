"""What a run reports while it is driven: the events every viewer renders.

An agent run reports what its runner emits (:class:`TextDelta`, :class:`ToolStarted`,
:class:`ToolFinished`, :class:`ApprovalNeeded`, :class:`InputNeeded`,
:class:`TurnEnded`); a workflow run reports
a :class:`TaskChanged` each time one of its tasks changes phase or starts another attempt;
every run reports a :class:`PhaseChanged` with its record when its phase changes, the last
one being its final record (finished, or waiting for a person). A follower that loses its
backend for a while reports :class:`ConnectionLost` and then :class:`Reconnected`.

These live below the engine (which yields them) and the SDK, CLI and dashboard (which
render them), so each of those imports them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.resources.kinds import Execution
from stigmer.runners.agent.events import (
    ApprovalNeeded,
    InputNeeded,
    RunEvent,
    StepEvents,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnEnded,
)


@dataclass
class TaskChanged:
    """A task of a workflow run changed phase (or began another attempt).

    Attributes:
        name: The task; ``task[i]`` for item ``i`` of a forEach.
        phase: ``RUNNING``, ``COMPLETED``, ``FAILED``, ``SKIPPED``, ``WAITING_APPROVAL``, …
        attempts: Attempts made so far.
        error: Why it failed, when it did.
        outputs: Its outputs, once it completed.
        child_execution_id: The run it started (agent and workflow tasks).
    """

    name: str
    phase: str
    attempts: int = 0
    error: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    child_execution_id: str = ""


@dataclass
class PhaseChanged:
    """The run's phase changed; ``execution`` is its record then."""

    execution: Execution


@dataclass
class StepRecorded:
    """A step of a followed run as it is recorded (yielded only when asked for steps): a new
    one, or one that changed (a waiting step once decided)."""

    step: ExecutionStep


@dataclass
class ConnectionLost:
    """The backend became unreachable while following the run; the follower retries."""

    message: str
    retry_seconds: float


@dataclass
class Reconnected:
    """The backend is reachable again; following continues where it left off."""


Event: TypeAlias = RunEvent | TaskChanged
"""What the SDK's streams yield: a runner's events and task changes."""

DriveEvent: TypeAlias = Event | PhaseChanged | ConnectionLost | Reconnected | StepRecorded
"""Everything driving a run yields."""


class TaskDiff:
    """Turns successive records of one workflow run into the task changes between them."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[int, int]] = {}

    def __call__(self, execution: Execution) -> list[TaskChanged]:
        if not isinstance(execution, WorkflowExecution):
            return []
        from stigmer.resources.codec import to_dict
        from stigmer.resources.steps import plain

        changes: list[TaskChanged] = []
        for task in execution.status.tasks:
            state = (int(task.phase), task.attempts)
            if task.phase == ExecutionPhase.PENDING or self.seen.get(task.name) == state:
                continue
            self.seen[task.name] = state
            outputs = plain(to_dict(task.outputs)) if task.HasField("outputs") else {}
            changes.append(
                TaskChanged(
                    task.name,
                    ExecutionPhase.Name(task.phase),
                    task.attempts,
                    task.error.message,
                    outputs,
                    task.child_execution_id,
                )
            )
        return changes


__all__ = [
    "ApprovalNeeded",
    "ConnectionLost",
    "DriveEvent",
    "Event",
    "InputNeeded",
    "PhaseChanged",
    "Reconnected",
    "RunEvent",
    "StepEvents",
    "StepRecorded",
    "TaskChanged",
    "TaskDiff",
    "TextDelta",
    "ToolFinished",
    "ToolStarted",
    "TurnEnded",
]
