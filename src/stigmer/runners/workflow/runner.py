"""The workflow runner: every task whose dependencies are done starts at once.

A run reads its journal first: finished tasks keep their recorded outcomes and never
run again. It then schedules the rest over the task graph (dependencies and switch
gates), at most ``concurrency`` at a time, evaluating each task's expressions against
the workflow's inputs, earlier tasks' outputs and its environment, and journals every
attempt before moving on. Retries, timeouts and ``onError`` apply per task; a failure
that is not tolerated cancels what is still running and fails the run. A run where
nothing can move until a person decides an approval hands its lease back and waits
(WAITING_APPROVAL); the decision queues it again.

Dependency rules: a task runs when each of its dependencies has ended; it is SKIPPED
when its ``when`` is false, when a switch that targets it chose other tasks, or when
every one of its dependencies was skipped (so a branch not taken is skipped to its end,
while a join after a switch still runs).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflow.v1.workflow_pb2 import Task, Workflow
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import RunJournal
from stigmer.clock import Clock, utcnow
from stigmer.errors import InvalidArgument, StigmerError
from stigmer.resources import expressions, task_fields
from stigmer.resources.codec import from_dict, to_dict
from stigmer.resources.durations import parse_duration
from stigmer.resources.inputs import resolve_inputs
from stigmer.resources.steps import WAITING, plain
from stigmer.resources.trace_ids import run_trace_id
from stigmer.runners.agent.environment import RunEnvironment
from stigmer.runners.usage import children_usage
from stigmer.runners.workflow.journal import SUCCEEDED, Journal, Outcome
from stigmer.runners.workflow.kinds import TaskCall, kind_of, sleep_until
from stigmer.runners.workflow.kinds.children import POLL_SECONDS, ChildRunner, cancel_child, run_child
from stigmer.runners.workflow.scheduler import (
    Attempt,
    Begun,
    Blocked,
    Failure,
    Graph,
    Scheduler,
    Stop,
    TimeLimit,
    Tried,
)
from stigmer.runners.workflow.tasks import RunContext, TaskAttempts, struct
from stigmer.secrets.references import MissingReference, Reference

DEFAULT_CONCURRENCY = 16
CANCEL_CHECK_SECONDS = 1.0


class WorkflowRunner:
    """Runs claimed WorkflowExecutions to their end (or until a person must decide).

    Args:
        backend: Where the run's record lives.
        worker_id: The lease holder; every write is fenced by it.
        run_child: Runs a child execution (agent and workflow tasks); from the engine.
        concurrency: How many tasks of one run may be in flight at once.
        clock: Where "now" comes from.
    """

    def __init__(
        self,
        backend: RunJournal,
        *,
        worker_id: str,
        run_child: ChildRunner,
        concurrency: int = DEFAULT_CONCURRENCY,
        clock: Clock = utcnow,
    ) -> None:
        self.backend = backend
        self.worker_id = worker_id
        self.run_child = run_child
        self.concurrency = concurrency
        self.clock = clock

    async def run(self, execution: WorkflowExecution) -> WorkflowExecution:
        """Carry a RUNNING (claimed) execution as far as it goes; return its record."""
        env = RunEnvironment()
        try:
            env = RunEnvironment.load(self.backend, execution, self.worker_id)
            effects = self._prepare(execution, env)
            limit = time_limit(effects.workflow, execution, self.clock())
            scheduler = Scheduler(effects.workflow, effects.reads, effects, limit)
            await scheduler.run()
            outputs = run_outputs(effects.workflow, effects.attempts.run, scheduler.scope)
        except Stop as stop:
            return self._finish(execution, env, stop.phase, stop.code, stop.message)
        except StigmerError as exc:
            message = f"{exc}" + (f"\nHint: {exc.hint}" if exc.hint else "")
            return self._finish(execution, env, ExecutionPhase.FAILED, type(exc).__name__.upper(), message)
        return self._finish(execution, env, ExecutionPhase.COMPLETED, outputs=outputs)

    # -- preparing -------------------------------------------------------------------------

    def _prepare(self, execution: WorkflowExecution, env: RunEnvironment) -> _LocalEffects:
        workflow = pinned_workflow(self.backend, execution)
        given = plain(to_dict(execution.spec.inputs)) if execution.spec.HasField("inputs") else {}
        inputs = resolve_inputs(workflow.spec.inputs, given)
        reads = check_references(workflow, env)
        journal = Journal(
            self.backend,
            execution.metadata.id,
            self.worker_id,
            self.backend.list_steps(execution.metadata.id),
            self.clock,
            env.redact,
        )
        if execution.spec.retry_of and journal.next_step == 1:
            reuse(self.backend, execution, workflow, reads, journal, env, self.clock)
        context = RunContext(
            execution.metadata.id,
            execution.spec.environment,
            workflow.metadata.name,
            inputs,
            env,
            run_trace_id(execution.metadata.id, execution.spec.trace_parent),
        )
        tasks = {t.name: t for t in workflow.spec.tasks}
        attempts = TaskAttempts(
            self.backend, journal, context, tasks, worker_id=self.worker_id, clock=self.clock
        )
        return _LocalEffects(self, workflow, reads, attempts)

    # -- the end ---------------------------------------------------------------------------

    def _finish(
        self,
        execution: WorkflowExecution,
        env: RunEnvironment,
        phase: ExecutionPhase.ValueType,
        code: str = "",
        message: str = "",
        outputs: dict[str, Any] | None = None,
    ) -> WorkflowExecution:
        finish_status(execution, env, phase, code, message, outputs, self.clock())
        children_usage(self.backend, execution.metadata.id).to_usage(execution.status.usage)
        return self.backend.update_execution_status(execution, worker_id=self.worker_id)


class _LocalEffects:
    """The scheduler's effects in this process: the store directly, asyncio for waiting."""

    def __init__(
        self, runner: WorkflowRunner, workflow: Workflow, reads: dict[str, set[str]], attempts: TaskAttempts
    ) -> None:
        self.runner = runner
        self.backend = runner.backend
        self.workflow = workflow
        self.reads = reads
        self.attempts = attempts
        self.journal = attempts.journal
        self.clock = runner.clock
        self.children: dict[str, str] = {}  # task key -> running child id
        self._loop = asyncio.get_running_loop()
        self._last_cancel_check = self._loop.time()

    @property
    def concurrency(self) -> int:
        return self.runner.concurrency

    def recorded(self, key: str) -> Outcome | None:
        return self.journal.outcome(key)

    def resume(self, key: str) -> tuple[int, dict[str, Any] | None, str]:
        resume = self.journal.resume(key)
        return resume.attempt, resume.started, resume.retry_at

    def inline(self, task: Task) -> bool:
        kind = kind_of(task)
        return kind is not None and kind.inline

    def rollover(self) -> bool:
        return False

    async def skip(self, key: str, reason: str) -> Outcome:
        outcome = Outcome("SKIPPED", error=reason)
        self.journal.end(key, 1, outcome, started=self.clock())
        return outcome

    async def begin(self, attempt: Attempt, scope: dict[str, Any]) -> Begun:
        begun = await self.attempts.begin(attempt, scope)
        if self.inline(attempt.task):
            await asyncio.sleep(0)  # let the heartbeat in during long chains
        return begun

    async def conclude(
        self, attempt: Attempt, begun: Begun, outputs: dict[str, Any] | None, error: Failure | None
    ) -> Tried:
        self.children.pop(attempt.key, None)
        return self.attempts.conclude(attempt, begun, outputs, error)

    async def sleep_until(self, moment: str) -> None:
        await sleep_until(moment, self.clock)

    async def approval(self, attempt: Attempt, begun: Begun, blocked: Blocked) -> None:
        blocked(True)
        try:
            while self.journal.approval(attempt.key).status == WAITING:
                if begun.until and datetime.fromisoformat(begun.until) <= self.clock():
                    return
                await asyncio.sleep(POLL_SECONDS)
        finally:
            blocked(False)

    async def child(self, attempt: Attempt, begun: Begun, blocked: Blocked) -> None:
        self.children[attempt.key] = begun.child_id
        run = self.attempts.run
        call = TaskCall(
            run.execution_id, run.environment, attempt.task, attempt.key, attempt.attempt, blocked=blocked
        )
        await run_child(self.backend, call, begun.child_id, self.runner.run_child)

    def abandon(self, key: str, reason: str) -> None:
        child_id = self.children.pop(key, None)
        if child_id:
            cancel_child(self.backend, child_id, self.runner.worker_id, reason)

    async def wait(self, ended: asyncio.Event) -> None:
        if self._loop.time() - self._last_cancel_check >= CANCEL_CHECK_SECONDS:
            self._last_cancel_check = self._loop.time()
            if self.backend.get_execution(self.attempts.run.execution_id).status.cancel_requested:
                raise Stop(ExecutionPhase.CANCELLED, "CANCELLED", "cancelled while running")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ended.wait(), timeout=CANCEL_CHECK_SECONDS)

    async def park(self) -> None:
        # Nothing moves until a person decides: hand the lease back meanwhile.
        raise Stop(ExecutionPhase.WAITING_APPROVAL)

    async def stop(self, reason: str) -> None:
        for key, child_id in list(self.children.items()):
            cancel_child(self.backend, child_id, self.runner.worker_id, reason)
            self.children.pop(key, None)
        cancel_started(self.journal, reason, self.clock())


def cancel_started(journal: Journal, reason: str, now: datetime) -> None:
    """Record every attempt that started and has not ended as CANCELLED."""
    for key, attempt in journal.in_flight().items():
        outcome = Outcome("CANCELLED", error=reason, code="CANCELLED")
        journal.end(key, attempt, outcome, started=now)


def run_outputs(workflow: Workflow, run: RunContext, scope: dict[str, Any]) -> dict[str, Any]:
    """The workflow's ``outputs``, evaluated once every task has ended."""
    if not workflow.spec.HasField("outputs"):
        return {}
    value = expressions.evaluate(struct(workflow.spec.outputs), run.context(scope), where="outputs")
    return dict(run.env.redact(value or {}))


def finish_status(
    execution: WorkflowExecution,
    env: RunEnvironment,
    phase: ExecutionPhase.ValueType,
    code: str,
    message: str,
    outputs: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Write how a run ended (or parked) into its status."""
    status = execution.status
    status.phase = phase
    status.ClearField("tasks")
    if phase != ExecutionPhase.WAITING_APPROVAL:
        status.end_time.FromDatetime(now)
    if outputs:
        status.outputs.Clear()
        status.outputs.update(outputs)
    if code:
        status.error.code, status.error.message = code, env.redactor.text(message)


def reuse(
    backend: RunJournal,
    execution: WorkflowExecution,
    workflow: Workflow,
    reads: dict[str, set[str]],
    journal: Journal,
    env: RunEnvironment,
    clock: Clock,
) -> None:
    """A retry starts with the recorded results of the run it retries: every task before
    ``retry_from`` (or every task that completed, without it) is journaled as it ended
    there, and so never runs again."""
    spec = execution.spec
    source = backend.get_execution(spec.retry_of)
    if not isinstance(source, WorkflowExecution):
        raise InvalidArgument(f"{spec.retry_of} is not a workflow execution", field="spec.retryOf")
    steps = backend.list_steps(source.metadata.id)
    recorded = Journal(backend, source.metadata.id, "", steps, clock, env.redact)
    graph = Graph(workflow, reads)
    names = [t.name for t in workflow.spec.tasks]
    if spec.retry_from and spec.retry_from not in names:
        raise InvalidArgument(
            f"workflow {workflow.metadata.name!r} has no task {spec.retry_from!r}",
            field="spec.retryFrom",
            hint=f"tasks: {', '.join(names)}",
        )
    again = (
        {spec.retry_from}
        if spec.retry_from
        else {n for n in names if (o := recorded.outcome(n)) is None or o.phase != SUCCEEDED}
    )
    pending = list(again)
    while pending:  # everything after a task that runs again runs again too
        for after in graph.dependents[pending.pop()]:
            if after not in again:
                again.add(after)
                pending.append(after)
    for name in names:
        outcome = recorded.outcome(name)
        if name in again or outcome is None or outcome.phase not in (SUCCEEDED, "SKIPPED"):
            continue
        for key in [k for k in recorded.ends if k.startswith(name + "[")]:
            item = recorded.outcome(key)
            if item is not None:
                journal.end(key, 1, item, started=clock(), reused=source.metadata.id)
        journal.end(name, 1, outcome, started=clock(), reused=source.metadata.id)


def run_deadline(workflow: Workflow, execution: WorkflowExecution) -> tuple[str, datetime] | None:
    """The run's timeout (its own, else its workflow's) and when it passes, counted from the
    run's start; None without one."""
    timeout = execution.spec.timeout or workflow.spec.timeout
    if not timeout:
        return None
    where = "spec.timeout"
    seconds = parse_duration(timeout, field=where)
    started = execution.status.start_time
    start = started.ToDatetime(UTC) if started.seconds or started.nanos else datetime.now(UTC)
    return timeout, start + timedelta(seconds=seconds)


def time_limit(workflow: Workflow, execution: WorkflowExecution, now: datetime) -> TimeLimit | None:
    """What the scheduler needs of the run's timeout, at ``now``."""
    deadline = run_deadline(workflow, execution)
    if deadline is None:
        return None
    return TimeLimit(deadline[0], (deadline[1] - now).total_seconds())


def pinned_workflow(backend: RunJournal, execution: WorkflowExecution) -> Workflow:
    """The workflow version a run is pinned to (a later apply never changes a run in flight)."""
    current = backend.get(Workflow, execution.spec.workflow)
    pinned = execution.spec.workflow_version
    if not pinned or pinned == current.metadata.version:
        return current
    for entry in backend.history(Workflow, current.metadata.id):
        if entry.spec.version == pinned:
            snapshot = to_dict(entry.spec.snapshot)
            snapshot.get("metadata", {}).pop("version", None)
            workflow = from_dict(Workflow, {k: v for k, v in snapshot.items() if k != "status"})
            workflow.metadata.version = pinned
            return workflow
    raise InvalidArgument(
        f"workflow {current.metadata.name!r} has no version {pinned}",
        field="spec.workflowVersion",
        hint=f"see its versions: stigmer history workflow {current.metadata.name}",
    )


def check_references(workflow: Workflow, env: RunEnvironment) -> dict[str, set[str]]:
    """Fail before any work when a task refers to a secret or variable the environment lacks;
    return the tasks each task reads (it waits for them)."""
    reads: dict[str, set[str]] = {}
    for i, task in enumerate(workflow.spec.tasks):
        refs = task_fields.references(task, f"spec.tasks[{i}]")
        for root, name in sorted(refs):
            if root in ("secrets", "env") and name not in (
                env.secrets if root == "secrets" else env.variables
            ):
                raise MissingReference(Reference(root, name, f"spec.tasks[{i}] ({task.name})"), env.name)
        reads[task.name] = {name for root, name in refs if root == "tasks" and name and name != task.name}
    return reads


__all__ = [
    "DEFAULT_CONCURRENCY",
    "WorkflowRunner",
    "cancel_started",
    "check_references",
    "finish_status",
    "pinned_workflow",
    "reuse",
    "run_deadline",
    "run_outputs",
    "time_limit",
]
