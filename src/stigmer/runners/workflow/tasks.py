"""One attempt of one task, with its side effects: every engine runs this same code.

:class:`TaskAttempts` begins an attempt (checks its ``when``, evaluates its fields
against the run's inputs, environment and the outcomes of the tasks it reads), hands it
to its kind (:mod:`stigmer.runners.workflow.kinds`), which journals its start and runs
a body that finishes in one go, and journals how the attempt ended: its outputs, or a
failure that is tried again at a recorded time (``retry``) or, after the last attempt,
what ``onError`` makes of it. A durable kind's attempt (its body waits on the world) is
begun and concluded here; the engine does the waiting in between (the local engine in
this process, the Temporal engine with timers, signals and child workflows).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stigmer import faults
from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.backend.protocol import RunJournal
from stigmer.clock import Clock, utcnow
from stigmer.errors import InvalidArgument, StigmerError
from stigmer.resources import expressions
from stigmer.resources.codec import to_dict
from stigmer.resources.durations import parse_duration
from stigmer.resources.steps import plain
from stigmer.runners.agent.environment import RunEnvironment
from stigmer.runners.workflow.attempt import Attempt, Begun, Failure, Tried
from stigmer.runners.workflow.journal import SUCCEEDED, Journal, Outcome
from stigmer.runners.workflow.kinds import TaskCall, TaskError, deadline, kind_named, kind_of
from stigmer.secrets.derived import derived_values


@dataclass
class RunContext:
    """What every task of one run may read in its expressions, besides other tasks."""

    execution_id: str
    environment: str
    workflow_name: str
    inputs: dict[str, Any]
    env: RunEnvironment
    # The trace the run belongs to: its child runs are stamped with it (resources.trace_ids).
    trace_id: str = ""

    def context(self, tasks: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The names an expression sees: ``workflow``, ``tasks``, ``env``, ``secrets`` (and ``extra``)."""
        base = {
            "workflow": {"inputs": self.inputs, "id": self.execution_id, "name": self.workflow_name},
            "tasks": tasks,
            "env": self.env.variables,
            "secrets": self.env.secrets,
        }
        if extra:
            base.update(extra)
        return base


def struct(value: Any) -> Any:
    """A protobuf Struct or Value field as plain data."""
    return plain(to_dict(value)) if value is not None else None


@dataclass
class Fields:
    """Evaluates one task's fields against the run's context; errors name the field."""

    context: dict[str, Any]
    where: str
    # Told every value computed from a secret, so that it is masked like the secret.
    secret: Callable[[list[str]], None] | None = None

    def value(self, value: Any, field_name: str) -> Any:
        where = f"{self.where}.{field_name}"
        result = expressions.evaluate(value, self.context, where=where)
        if self.secret is not None:
            self.secret(derived_values(value, self.context, where=where))
        return result

    def condition(self, text: str, field_name: str) -> bool:
        return expressions.condition(text, self.context, where=f"{self.where}.{field_name}")

    def inputs(self, task: Task) -> dict[str, Any]:
        return dict(self.value(struct(task.inputs), "inputs") or {}) if task.HasField("inputs") else {}


def backoff(task: Task, attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, with jitter when asked."""
    spec = task.retry.backoff
    initial = parse_duration(spec.initial, field="retry.backoff.initial") if spec.initial else 1.0
    cap = parse_duration(spec.max, field="retry.backoff.max") if spec.max else 60.0
    delay = min(initial * (spec.multiplier or 2.0) ** (attempt - 1), cap)
    if spec.jitter:
        delay = random.uniform(delay / 2, delay)
    return delay


def task_timeout(task: Task) -> float | None:
    """Seconds one attempt of ``task`` may take; None without a limit."""
    return parse_duration(task.timeout, field=f"tasks.{task.name}.timeout") if task.timeout else None


def on_error(task: Task, outcome: Outcome) -> Outcome:
    """What a task's onError makes of its last failed attempt."""
    if task.on_error.HasField("output"):
        return Outcome(SUCCEEDED, plain(to_dict(task.on_error.output)), outcome.error, outcome.code)
    if task.on_error.action == "continue":
        outcome.tolerated = True
    return outcome


def _failure(exc: BaseException) -> Failure:
    if isinstance(exc, TaskError):
        return Failure(exc.code, exc.message, exc.retryable)
    if isinstance(exc, StigmerError):
        return Failure(type(exc).__name__.upper(), str(exc), not isinstance(exc, InvalidArgument))
    raise exc


class TaskAttempts:
    """Begins and concludes attempts of the tasks of one run.

    Args:
        backend: Where the run's record lives.
        journal: The run's journal (writes are fenced by ``worker_id``).
        run: The run's inputs and environment.
        tasks: The workflow's tasks by name (a forEach item finds its parent here).
        worker_id: The lease holder.
        clock: Where "now" comes from.
    """

    def __init__(
        self,
        backend: RunJournal,
        journal: Journal,
        run: RunContext,
        tasks: dict[str, Task],
        *,
        worker_id: str,
        clock: Clock = utcnow,
    ) -> None:
        self.backend = backend
        self.journal = journal
        self.run = run
        self.tasks = tasks
        self.worker_id = worker_id
        self.clock = clock

    # -- beginning -----------------------------------------------------------------------

    async def begin(self, call: Attempt, scope: dict[str, Any]) -> Begun:
        """Begin an attempt (see :meth:`Effects.begin
        <stigmer.runners.workflow.scheduler.Effects.begin>`); never raises for a task's failure."""
        task = call.task
        kind = task.WhichOneof("kind") or ""
        started_at = self.clock()
        fields = Fields(
            self.run.context(scope, call.extra), f"tasks.{call.key}", self.run.env.redactor.add_derived
        )
        try:
            if call.parent and "item" not in call.extra:
                fields.context["item"] = self._item_again(call, scope)
            first = call.attempt == 1 and not call.started
            if first and task.when and not fields.condition(task.when, "when"):
                outcome = Outcome("SKIPPED", error=f"when is false: {task.when}")
                self.journal.end(call.key, 1, outcome, started=started_at)
                return Begun(kind, Tried(outcome))
            handler = kind_of(task)
            if handler is None:
                raise TaskError("UNKNOWN_KIND", f"task {task.name!r} has no kind", retryable=False)
            started = TaskCall(
                self.run.execution_id,
                self.run.environment,
                task,
                call.key,
                call.attempt,
                call.started or {},
                trace_id=self.run.trace_id,
            )
            if handler.durable:
                begun: Begun = await handler.begin(self, call, started, fields)
                begun.started_at = started_at.isoformat()
                return begun
            timeout = task_timeout(task)
            try:
                async with asyncio.timeout(timeout):
                    outputs = await handler.begin(self, call, started, fields)
            except TimeoutError:
                timed_out = Failure("TIMEOUT", f"timed out after {task.timeout}")
                return Begun(kind, self.record(call, started_at, failure=timed_out))
            faults.hit("workflow.task_executed")
            return Begun(kind, self.record(call, started_at, outputs=outputs))
        except (TaskError, StigmerError) as exc:
            return Begun(kind, self.record(call, started_at, failure=_failure(exc)))

    def _item_again(self, call: Attempt, scope: dict[str, Any]) -> Any:
        """An item whose value held a secret (masked where it was passed): evaluated again here."""
        parent = self.tasks[call.parent]
        fields = Fields(self.run.context(scope), f"tasks.{call.parent}", self.run.env.redactor.add_derived)
        items = kind_named(parent.WhichOneof("kind") or "").items(parent, fields)
        return items[int(call.extra["index"])]

    # -- what a kind may use -------------------------------------------------------------

    def now(self) -> datetime:
        """The run's clock."""
        return self.clock()

    def redact(self, value: Any) -> Any:
        """``value`` with the run's secret values masked."""
        return self.run.env.redact(value)

    def record_start(self, call: TaskCall, **extra: Any) -> None:
        """Journal the start of an attempt (once: a resumed in-flight attempt already has it)."""
        if not call.started:
            call.started = {"attempt": call.attempt, **extra}
            self.journal.start(call.key, call.attempt, **extra)
            faults.hit("workflow.task_started")

    def note_start(self, call: TaskCall) -> None:
        """Begin an attempt whose start is not journalled (see ``Attempts.note_start``)."""
        if not call.started:
            self.journal.running(call.key, call.attempt)
            # The crash point where the attempt begins, as for a journalled start.
            faults.hit("workflow.task_started")

    # -- concluding ----------------------------------------------------------------------

    def conclude(
        self, call: Attempt, begun: Begun, outputs: dict[str, Any] | None, error: Failure | None
    ) -> Tried:
        """Journal how a durable attempt ended: ``outputs`` (or, for an approval or a child
        run, what the record says), or ``error``."""
        started_at = datetime.fromisoformat(begun.started_at) if begun.started_at else self.clock()
        if error is None:
            try:
                outputs = kind_named(begun.kind).conclude(self, call, begun, outputs)
            except (TaskError, StigmerError) as exc:
                error = _failure(exc)
        if error is not None:
            return self.record(call, started_at, failure=error)
        faults.hit("workflow.task_executed")
        return self.record(call, started_at, outputs=outputs or {})

    def record(
        self,
        call: Attempt,
        started_at: datetime,
        *,
        outputs: dict[str, Any] | None = None,
        failure: Failure | None = None,
    ) -> Tried:
        """Journal the end of an attempt: its outputs, or its failure (tried again at a recorded
        time while attempts remain, else what onError makes of it)."""
        task = call.task
        if failure is None:
            outcome = Outcome(SUCCEEDED, self.run.env.redact(outputs or {}))
            self.journal.end(call.key, call.attempt, outcome, started=started_at)
            faults.hit("workflow.task_recorded")
            return Tried(outcome)
        outcome = Outcome("FAILED", error=self.run.env.redactor.text(failure.message), code=failure.code)
        if failure.retryable and call.attempt < max(task.retry.max_attempts, 1):
            retry_at = deadline(self.clock(), backoff(task, call.attempt))
            self.journal.end(call.key, call.attempt, outcome, started=started_at, retry_at=retry_at)
            return Tried(outcome, retry_at)
        outcome = on_error(task, outcome)
        self.journal.end(call.key, call.attempt, outcome, started=started_at)
        faults.hit("workflow.task_recorded")
        return Tried(outcome)


__all__ = ["Fields", "RunContext", "TaskAttempts", "backoff", "on_error", "struct", "task_timeout"]
