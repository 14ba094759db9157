"""What a run reports while the SDK runs or follows it, and the stream that carries it.

An agent run reports the events its runner emits (:class:`TextDelta`, :class:`ToolStarted`,
:class:`ToolFinished`, :class:`ApprovalNeeded`, :class:`TurnEnded`); a workflow run reports
a :class:`TaskChanged` each time one of its tasks changes phase or starts another attempt.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeAlias, TypeVar

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.resources.kinds import Execution
from stigmer.runners.agent.events import (
    ApprovalNeeded,
    RunEvent,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnEnded,
)

E = TypeVar("E", bound=Execution)


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


Event: TypeAlias = RunEvent | TaskChanged
"""Anything an :class:`ExecutionStream` yields."""


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


class ExecutionStream(Generic[E]):
    """The events of a run as it happens, in order; iterate it (once).

    :attr:`execution` holds the run's record: as created until the iteration ends, then
    its final record (finished, or waiting for an approval). With ``check`` (the default),
    a run that ended FAILED or CANCELLED raises :class:`~stigmer.errors.ExecutionFailed`
    at the end of the iteration.

    A run that this process runs (the local backend) advances only while it is iterated.
    Closing the stream early (``close()``, leaving a ``with`` block, or breaking out of a
    loop over a stream no longer referenced) stops it here and keeps its state:
    ``client.executions.resume(id)`` continues it. A run on a server goes on there.

    Example:
        >>> for event in client.agents.execute("support-bot", "Where is A-1?", stream=True):  # doctest: +SKIP
        ...     if isinstance(event, TextDelta):
        ...         print(event.text, end="")
    """

    def __init__(
        self, execution: E, events: Generator[Event, None, Execution], *, check: bool = True
    ) -> None:
        self.execution: E = execution
        self._events = events
        self._check = check
        self._done = False

    @property
    def execution_id(self) -> str:
        """The run's id."""
        return self.execution.metadata.id

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        if self._done:
            raise StopIteration
        try:
            return next(self._events)
        except StopIteration as stop:
            self._done = True
            final = stop.value
            if isinstance(final, type(self.execution)):
                self.execution = final
        except BaseException:
            self._done = True
            raise
        if self._check:
            from stigmer.sdk.runs import check_finished

            check_finished(self.execution)
        raise StopIteration

    def close(self) -> None:
        """Stop following the run (see the class docstring for what happens to it)."""
        self._done = True
        self._events.close()

    def __enter__(self) -> ExecutionStream[E]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = [
    "ApprovalNeeded",
    "Event",
    "ExecutionStream",
    "RunEvent",
    "TaskChanged",
    "TaskDiff",
    "TextDelta",
    "ToolFinished",
    "ToolStarted",
    "TurnEnded",
]
