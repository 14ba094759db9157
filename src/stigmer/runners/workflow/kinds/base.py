"""What a task kind is: everything Stigmer knows about one kind of workflow task.

A :class:`TaskKind` says how its fields are written (normalised) and checked, where its
fields hold expressions (so a task waits for the tasks they read), which resources it
names, how it is labelled in tables and on the dashboard, how an attempt of it begins
and ends, and what an engine must know to run it. Every layer asks the registry
(:mod:`stigmer.runners.workflow.kinds.registry`) rather than naming kinds itself.

A kind module imports nothing above the runners: it reaches the run (its journal, its
clock, the store) through the :class:`Attempts`, :class:`Fields` and :class:`Walk` it is
handed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.resources.task_kinds import TaskKindSpec
from stigmer.runners.workflow.attempt import Attempt, Begun, Blocked, Failure
from stigmer.runners.workflow.journal import Outcome

if TYPE_CHECKING:
    from stigmer.backend.protocol import RunJournal
    from stigmer.runners.workflow.journal import Journal


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
    # The run's trace, which its child runs join (see stigmer.resources.trace_ids).
    trace_id: str = ""


def idempotency_key(call: TaskCall) -> str:
    """The same for every try of one attempt (a retry after a crash), new for the next attempt."""
    return f"{call.execution_id}/{call.key}/{call.attempt}"


def deadline(now: datetime, seconds: float) -> str:
    """A point in time as the journal writes it."""
    return (now + timedelta(seconds=seconds)).isoformat()


async def sleep_until(moment: str, clock: Callable[[], datetime]) -> None:
    """Sleep until an instant the journal recorded (at once if it has passed)."""
    # Imported here: validation reads this module, and commands that only read files or the
    # store should not pay for asyncio at start-up.
    import asyncio

    remaining = (datetime.fromisoformat(moment) - clock()).total_seconds()
    if remaining > 0:
        await asyncio.sleep(remaining)


class Fields(Protocol):
    """One task's fields, evaluated against the run's context; errors name the field."""

    where: str

    def value(self, value: Any, field_name: str) -> Any:
        """``value`` with its ``${…}`` expressions evaluated."""
        ...

    def condition(self, text: str, field_name: str) -> bool:
        """Whether the condition ``text`` holds."""
        ...

    def inputs(self, task: Task) -> dict[str, Any]:
        """The task's ``inputs``, evaluated."""
        ...


class Attempts(Protocol):
    """The run an attempt belongs to, as a kind sees it when it begins or ends one."""

    backend: RunJournal
    journal: Journal
    tasks: dict[str, Task]

    def now(self) -> datetime:
        """The run's clock."""
        ...

    def redact(self, value: Any) -> Any:
        """``value`` with the run's secret values masked (for what is stored as it is)."""
        ...

    def record_start(self, call: TaskCall, **extra: Any) -> None:
        """Journal the start of the attempt with ``extra`` (once: a resumed attempt has it)."""
        ...

    def note_start(self, call: TaskCall) -> None:
        """Begin the attempt without journalling it (its end is its only step): a crash
        re-runs it, a run that stops records it CANCELLED."""
        ...


class Walk(Protocol):
    """The scheduler, as a durable kind's body sees it while the attempt waits on the world."""

    async def sleep_until(self, moment: str) -> None:
        """Wait (durably, where the engine can) until a recorded instant."""
        ...

    async def approval(self, call: Attempt, begun: Begun, blocked: Blocked) -> None:
        """Wait until a person decides the approval of ``call`` (or its timeout passes)."""
        ...

    async def child(self, call: Attempt, begun: Begun, blocked: Blocked) -> None:
        """Run (or follow) the child run ``begun.child_id`` until it ends."""
        ...

    def blocker(self, key: str, blocking: bool) -> Blocked:
        """What the body calls while it waits for a person (``blocking``: and for nothing else)."""
        ...

    def recorded(self, key: str) -> Outcome | None:
        """The outcome on record for ``key`` (a task or item that already ended)."""
        ...

    async def attempts(self, task: Task, key: str, extra: dict[str, Any]) -> Outcome:
        """Run ``task`` under ``key`` (one item) until it succeeds or its attempts are spent."""
        ...


class TaskKind(TaskKindSpec):
    """One kind of workflow task; subclass it, fill in what differs (the resource side is
    :class:`~stigmer.resources.task_kinds.TaskKindSpec`'s), and :func:`register
    <stigmer.resources.task_kinds.register>` an instance.
    """

    # -- an attempt ------------------------------------------------------------------------

    async def begin(self, run: Attempts, call: Attempt, started: TaskCall, fields: Fields) -> Any:
        """Begin an attempt: the outputs of a kind that is not :attr:`durable`; a
        :class:`Begun` saying what a durable one waits on. Raise :class:`TaskError` to fail it."""
        raise NotImplementedError(f"task kind {self.label} does not run")

    async def wait(
        self, walk: Walk, call: Attempt, begun: Begun
    ) -> tuple[dict[str, Any] | None, Failure | None]:
        """The body of a durable attempt, waiting on the world through ``walk``: its outputs
        (None: :meth:`conclude` reads them), or how it failed."""
        return None, None

    def conclude(
        self, run: Attempts, call: Attempt, begun: Begun, outputs: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The outputs of a durable attempt whose body ended well (what the record says, for
        an approval or a child run). Raise :class:`TaskError` to fail it."""
        return outputs or {}

    def items(self, task: Task, fields: Fields) -> list[Any]:
        """The items of a kind with an :meth:`item_task`, evaluated."""
        raise NotImplementedError(f"task kind {self.label} has no items")


__all__ = [
    "Attempts",
    "Fields",
    "TaskCall",
    "TaskError",
    "TaskKind",
    "Walk",
    "deadline",
    "idempotency_key",
    "sleep_until",
]
