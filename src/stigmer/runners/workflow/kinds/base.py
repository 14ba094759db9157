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
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from stigmer.api.workflow.v1.workflow_pb2 import Task
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


class TaskKind:
    """One kind of workflow task; subclass it, fill in what differs, and :func:`register
    <stigmer.runners.workflow.kinds.registry.register>` an instance.

    Attributes:
        field: The field of ``Task`` (in ``proto/stigmer/workflow/v1/workflow.proto``) that
            holds the kind's body, e.g. ``for_each``.
        label: How files, tables and the dashboard write it, e.g. ``forEach``.
        durable: Its body waits on the world (a timer, a person, a child run, items): it is
            begun, waited for by :meth:`wait`, and concluded. Otherwise :meth:`begin` runs
            it whole, within the task's ``timeout``.
        inline: Cheap and local: the local engine runs it at once, without taking a slot.
        heartbeats: Its :meth:`begin` may take long (I/O, user code): the Temporal engine
            heartbeats the activity that runs it.
        reads_journal: Its :meth:`begin` reads the run's journal even on a first attempt.
        child_workflow: The Temporal workflow type its child run is ("" for none).
        item_names: Names its :meth:`item_task` sees besides the run's.
    """

    field: ClassVar[str] = ""
    label: ClassVar[str] = ""
    durable: ClassVar[bool] = False
    inline: ClassVar[bool] = False
    heartbeats: ClassVar[bool] = False
    reads_journal: ClassVar[bool] = False
    child_workflow: ClassVar[str] = ""
    item_names: ClassVar[tuple[str, ...]] = ()

    # -- the resource: as written, checked, read -------------------------------------------

    def normalise(self, body: Any, task: Callable[[Any], None]) -> None:
        """Rewrite the short forms of ``body`` (the kind's field, as a file writes it) in
        place; ``task`` normalises a task it holds."""

    def validate(self, task: Task, field: str) -> None:
        """Refuse a body that cannot run (raise ``InvalidArgument`` naming ``field.label…``)."""

    def item_task(self, task: Task) -> Task | None:
        """The task run once per item, with :attr:`item_names` in scope (None: no items)."""
        return None

    def value_fields(self, task: Task) -> list[tuple[str, Any]]:
        """(field, value) of each field of the body that may hold ``${…}``."""
        return []

    def condition_fields(self, task: Task) -> list[tuple[str, str]]:
        """(field, text) of each condition in the body."""
        return []

    def targets(self, task: Task) -> list[tuple[str, str, str]]:
        """(field, task name, edge label) of each task the body may enable (a switch). Each
        such task waits for this one, and is skipped unless this one succeeds with its name
        in the ``enabled`` list of its outputs."""
        return []

    def references(self, task: Task, field: str) -> list[tuple[str, str, str]]:
        """(resource kind, name, field) of each resource the body names."""
        return []

    def describe(self, task: Task) -> str:
        """The kind and its target as a table or graph shows it, e.g. ``agent writer``."""
        return self.label

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
