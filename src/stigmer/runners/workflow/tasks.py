"""One attempt of one task, with its side effects: every engine runs this same code.

:class:`TaskAttempts` begins an attempt (checks its ``when``, evaluates its fields
against the run's inputs, environment and the outcomes of the tasks it reads, journals
its start), runs the body of the kinds that finish in one go (``set``, ``switch``,
``http``, ``python``), and journals how the attempt ended: its outputs, or a failure that
is tried again at a recorded time (``retry``) or, after the last attempt, what
``onError`` makes of it. The kinds whose body waits on the world (``wait``,
``approval``, child runs, ``forEach``) are begun and concluded here; the engine does the
waiting in between (the local engine in this process, the Temporal engine with timers,
signals and child workflows).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from stigmer import faults
from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.backend.protocol import RunJournal
from stigmer.clock import Clock, utcnow
from stigmer.errors import InvalidArgument, StigmerError
from stigmer.resources import expressions
from stigmer.resources.codec import to_dict
from stigmer.resources.durations import parse_duration
from stigmer.resources.kinds import Execution
from stigmer.resources.steps import WAITING, output_of, plain
from stigmer.runners.agent.environment import RunEnvironment
from stigmer.runners.workflow import kinds
from stigmer.runners.workflow.journal import SUCCEEDED, Journal, Outcome
from stigmer.runners.workflow.kinds import TaskCall, TaskError
from stigmer.runners.workflow.scheduler import DURABLE_KINDS, Attempt, Begun, Failure, Tried


@dataclass
class RunContext:
    """What every task of one run may read in its expressions, besides other tasks."""

    execution_id: str
    environment: str
    workflow_name: str
    inputs: dict[str, Any]
    env: RunEnvironment

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

    def value(self, value: Any, field_name: str) -> Any:
        return expressions.evaluate(value, self.context, where=f"{self.where}.{field_name}")

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


Body = Callable[["TaskAttempts", Attempt, TaskCall, Fields], Awaitable[Any]]


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
        fields = Fields(self.run.context(scope, call.extra), f"tasks.{call.key}")
        try:
            if call.parent and "item" not in call.extra:
                fields.context["item"] = self._item_again(call, scope)
            first = call.attempt == 1 and not call.started
            if first and task.when and not fields.condition(task.when, "when"):
                outcome = Outcome("SKIPPED", error=f"when is false: {task.when}")
                self.journal.end(call.key, 1, outcome, started=started_at)
                return Begun(kind, Tried(outcome))
            body = self._bodies.get(kind)
            if body is None:
                raise TaskError("UNKNOWN_KIND", f"task {task.name!r} has no kind", retryable=False)
            started = TaskCall(
                self.run.execution_id, self.run.environment, task, call.key, call.attempt, call.started or {}
            )
            if kind in DURABLE_KINDS:
                begun: Begun = await body(self, call, started, fields)
                begun.started_at = started_at.isoformat()
                return begun
            timeout = task_timeout(task)
            try:
                async with asyncio.timeout(timeout):
                    outputs = await body(self, call, started, fields)
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
        fields = Fields(self.run.context(scope), f"tasks.{call.parent}")
        items = fields.value(parent.for_each.items, "forEach.items")
        return items[int(call.extra["index"])]

    def _started(self, call: TaskCall, **extra: Any) -> None:
        """Journal the start of an attempt (once: a resumed in-flight attempt already has it)."""
        if not call.started:
            call.started = {"attempt": call.attempt, **extra}
            self.journal.start(call.key, call.attempt, **extra)
            faults.hit("workflow.task_started")

    async def _set(self, call: Attempt, started: TaskCall, fields: Fields) -> dict[str, Any]:
        return dict(fields.value(struct(call.task.set), "set") or {})

    async def _switch(self, call: Attempt, started: TaskCall, fields: Fields) -> dict[str, Any]:
        for i, case in enumerate(call.task.switch.cases):
            if fields.condition(case.when, f"switch.cases[{i}].when"):
                return {"enabled": list(case.then), "case": i}
        return {"enabled": list(call.task.switch.default), "case": "default"}

    async def _http(self, call: Attempt, started: TaskCall, fields: Fields) -> dict[str, Any]:
        spec = call.task.http
        request = {
            "method": spec.method,
            "url": fields.value(spec.url, "http.url"),
            "headers": fields.value(dict(spec.headers), "http.headers"),
            "query": fields.value(dict(spec.query), "http.query"),
            "body": fields.value(struct(spec.body), "http.body") if spec.HasField("body") else None,
            "expectStatus": list(spec.expect_status),
        }
        self._started(started)
        return await kinds.http(started, request)

    async def _python(self, call: Attempt, started: TaskCall, fields: Fields) -> dict[str, Any]:
        inputs = fields.inputs(call.task)
        self._started(started)
        return await kinds.python(started, inputs)

    async def _child(self, call: Attempt, started: TaskCall, fields: Fields) -> Begun:
        kind = call.task.WhichOneof("kind") or ""
        child_id = str(started.started.get("childExecutionId", ""))
        if not child_id:
            # A child's spec is stored as it is: values from secrets are masked there (a child
            # reads its secrets from its own environment, which it runs with).
            redact = self.run.env.redact
            inputs = redact(fields.inputs(call.task))
            if kind == "agent":
                message = redact(str(fields.value(call.task.message, "message") or ""))
                child: Execution = kinds.new_agent_child(started, message, inputs)
            else:
                child = kinds.new_workflow_child(started, inputs)
            child_id = kinds.find_or_create_child(self.backend, started, child)
            self._started(started, childExecutionId=child_id)
        return Begun(kind, child_id=child_id)

    async def _wait(self, call: Attempt, started: TaskCall, fields: Fields) -> Begun:
        until = str(started.started.get("until", ""))
        if not until:
            seconds = parse_duration(call.task.wait.duration, field=f"{fields.where}.wait.duration")
            until = kinds.deadline(self.clock(), seconds)
            self._started(started, until=until)
        return Begun("wait", until=until)

    async def _approval(self, call: Attempt, started: TaskCall, fields: Fields) -> Begun:
        approval = call.task.approval
        message = str(fields.value(approval.message, "approval.message") or "")
        self._started(started)
        request: dict[str, Any] = {"task": call.key, "message": message}
        if approval.timeout:
            request["until"] = kinds.deadline(
                self.clock(), parse_duration(approval.timeout, field="approval.timeout")
            )
        step = self.journal.ask_approval(call.key, request)
        until = str(plain(to_dict(step.input)).get("until", "")) if step.HasField("input") else ""
        return Begun("approval", until=until, decided=step.status != WAITING)

    async def _for_each(self, call: Attempt, started: TaskCall, fields: Fields) -> Begun:
        items = fields.value(call.task.for_each.items, "forEach.items")
        if not isinstance(items, list):
            raise TaskError(
                "INVALID_ITEMS",
                f"forEach.items must yield a list, got {type(items).__name__}: {str(items)[:100]}",
                retryable=False,
            )
        self._started(started, items=len(items))
        return Begun("for_each", items=items)

    _bodies: ClassVar[dict[str, Body]] = {
        "set": _set,
        "switch": _switch,
        "http": _http,
        "python": _python,
        "agent": _child,
        "workflow": _child,
        "approval": _approval,
        "wait": _wait,
        "for_each": _for_each,
    }

    # -- concluding ----------------------------------------------------------------------

    def conclude(
        self, call: Attempt, begun: Begun, outputs: dict[str, Any] | None, error: Failure | None
    ) -> Tried:
        """Journal how a durable attempt ended: ``outputs`` (or, for an approval or a child
        run, what the record says), or ``error``."""
        started_at = datetime.fromisoformat(begun.started_at) if begun.started_at else self.clock()
        if error is None:
            try:
                if begun.kind == "approval":
                    outputs = self._decision(call, begun)
                elif begun.kind in ("agent", "workflow"):
                    outputs = kinds.child_result(self.backend.get_execution(begun.child_id))
            except (TaskError, StigmerError) as exc:
                error = _failure(exc)
        if error is not None:
            return self.record(call, started_at, failure=error)
        faults.hit("workflow.task_executed")
        return self.record(call, started_at, outputs=outputs or {})

    def _decision(self, call: Attempt, begun: Begun) -> dict[str, Any]:
        step = self.journal.approval(call.key)
        if step.status == WAITING:  # only its timeout ends the wait without a person
            approve = call.task.approval.on_timeout == "approve"
            decision = {"approved": approve, "reason": "timed out", "by": "timeout"}
            self.journal.decide_approval(call.key, decision)
            step = self.journal.approvals[call.key]
        decided = kinds.approval_decision(output_of(step))
        if not decided["approved"]:
            reason = decided["reason"] or "no reason given"
            by = decided["by"] or "a person"
            raise TaskError("REJECTED", f"rejected by {by}: {reason}", retryable=False)
        return decided

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
            retry_at = kinds.deadline(self.clock(), backoff(task, call.attempt))
            self.journal.end(call.key, call.attempt, outcome, started=started_at, retry_at=retry_at)
            return Tried(outcome, retry_at)
        outcome = on_error(task, outcome)
        self.journal.end(call.key, call.attempt, outcome, started=started_at)
        faults.hit("workflow.task_recorded")
        return Tried(outcome)


__all__ = ["Fields", "RunContext", "TaskAttempts", "backoff", "on_error", "struct", "task_timeout"]
