"""What a run reports while the SDK runs or follows it, and the stream that carries it.

An agent run reports the events its runner emits (:class:`TextDelta`, :class:`ToolStarted`,
:class:`ToolFinished`, :class:`ApprovalNeeded`, :class:`InputNeeded`,
:class:`TurnEnded`); a workflow run reports
a :class:`TaskChanged` each time one of its tasks changes phase or starts another attempt.
The event types are the engine's (:mod:`stigmer.runners.events`), re-exported here.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from types import TracebackType
from typing import Generic, TypeVar

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.errors import ExecutionFailed
from stigmer.resources.kinds import Execution
from stigmer.runners.events import (
    ApprovalNeeded,
    Event,
    InputNeeded,
    RunEvent,
    TaskChanged,
    TaskDiff,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnEnded,
)

E = TypeVar("E", bound=Execution)


def check_finished(execution: Execution) -> None:
    """Raise :class:`ExecutionFailed`, carrying the record, when a run ended FAILED or CANCELLED."""
    phase = execution.status.phase
    if phase not in (ExecutionPhase.FAILED, ExecutionPhase.CANCELLED):
        return
    what = (
        f"of agent {execution.spec.agent!r}"
        if isinstance(execution, AgentExecution)
        else f"of workflow {execution.spec.workflow!r}"
    )
    error = execution.status.error
    reason = f": {error.message}" if error.message else ""
    code = f" ({error.code})" if error.code and error.code not in ("CANCELLED",) else ""
    raise ExecutionFailed(
        f"{execution.kind or type(execution).__name__} {execution.metadata.id} {what} "
        f"{ExecutionPhase.Name(phase)}{code}{reason}",
        hint=f"its steps: client.executions.steps({execution.metadata.id!r}), "
        f"or `stigmer execution logs {execution.metadata.id}`",
        execution=execution,
    )


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
    "InputNeeded",
    "RunEvent",
    "TaskChanged",
    "TaskDiff",
    "TextDelta",
    "ToolFinished",
    "ToolStarted",
    "TurnEnded",
    "check_finished",
]
