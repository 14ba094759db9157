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
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from stigmer import faults
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflow.v1.workflow_pb2 import Task, Workflow
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import Backend
from stigmer.clock import Clock, utcnow
from stigmer.errors import InvalidArgument, StigmerError
from stigmer.resources import expressions, task_fields
from stigmer.resources.codec import from_dict, to_dict
from stigmer.resources.durations import parse_duration
from stigmer.resources.inputs import resolve_inputs
from stigmer.resources.kinds import Execution
from stigmer.resources.steps import WAITING, output_of, plain
from stigmer.resources.workflow_steps import item_key
from stigmer.runners.agent.environment import RunEnvironment
from stigmer.runners.workflow import kinds
from stigmer.runners.workflow.journal import SUCCEEDED, Journal, Outcome
from stigmer.runners.workflow.kinds import ChildRunner, TaskCall, TaskError
from stigmer.secrets.references import MissingReference, Reference

DEFAULT_CONCURRENCY = 16
DEFAULT_FOREACH_CONCURRENCY = 4
CANCEL_CHECK_SECONDS = 1.0
BLOCKED_CHECK_SECONDS = 0.1


class _Stop(Exception):
    def __init__(self, phase: ExecutionPhase.ValueType, code: str = "", message: str = "") -> None:
        super().__init__(message)
        self.phase, self.code, self.message = phase, code, message


@dataclass
class _Run:
    execution: WorkflowExecution
    workflow: Workflow
    inputs: dict[str, Any]
    env: RunEnvironment
    journal: Journal
    results: dict[str, Outcome] = field(default_factory=dict)
    scope: dict[str, Any] = field(default_factory=dict)
    children: dict[str, str] = field(default_factory=dict)  # task key -> running child id
    blocked: set[str] = field(default_factory=set)  # keys waiting for a person, without a timeout
    reads: dict[str, set[str]] = field(default_factory=dict)  # task -> the tasks its expressions read

    def context(self, **extra: Any) -> dict[str, Any]:
        base = {
            "workflow": {
                "inputs": self.inputs,
                "id": self.execution.metadata.id,
                "name": self.workflow.metadata.name,
            },
            "tasks": self.scope,
            "env": self.env.variables,
            "secrets": self.env.secrets,
        }
        base.update(extra)
        return base


def _task_scope(outcome: Outcome) -> dict[str, Any]:
    outputs = outcome.outputs
    single = outputs["output"] if set(outputs) == {"output"} else outputs
    return {"outputs": outputs, "output": single, "phase": outcome.phase, "error": outcome.error}


def _struct(value: Any) -> Any:
    """A protobuf Struct or Value field as plain data."""
    return plain(to_dict(value)) if value is not None else None


@dataclass
class _Fields:
    """Evaluates one task's fields against the run's context; errors name the field."""

    context: dict[str, Any]
    where: str

    def value(self, value: Any, field_name: str) -> Any:
        return expressions.evaluate(value, self.context, where=f"{self.where}.{field_name}")

    def condition(self, text: str, field_name: str) -> bool:
        return expressions.condition(text, self.context, where=f"{self.where}.{field_name}")

    def inputs(self, task: Task) -> dict[str, Any]:
        return dict(self.value(_struct(task.inputs), "inputs") or {}) if task.HasField("inputs") else {}


class _Graph:
    """Which tasks can start: each waits for its dependencies, for the tasks its expressions
    read, and for the switches that gate it."""

    def __init__(self, workflow: Workflow, reads: dict[str, set[str]]) -> None:
        order = [t.name for t in workflow.spec.tasks]
        self.gates: dict[str, list[str]] = {name: [] for name in order}
        for t in workflow.spec.tasks:
            if t.WhichOneof("kind") == "switch":
                targets = {n for case in t.switch.cases for n in case.then} | set(t.switch.default)
                for target in sorted(targets):
                    self.gates[target].append(t.name)
        self.waiting_on = {
            t.name: set(t.depends_on) | set(self.gates[t.name]) | reads.get(t.name, set())
            for t in workflow.spec.tasks
        }
        self.dependents: dict[str, list[str]] = {name: [] for name in order}
        for name in order:
            for before in self.waiting_on[name]:
                self.dependents[before].append(name)
        self.ready: deque[str] = deque(name for name in order if not self.waiting_on[name])

    def check_finished(self) -> None:
        """Nothing runs and nothing is ready: every task must have ended (a cycle of
        references, which validation refuses, would leave some waiting forever)."""
        stuck = [name for name, waits in self.waiting_on.items() if waits]
        if stuck:
            raise _Stop(ExecutionPhase.FAILED, "STUCK", f"tasks that can never start: {', '.join(stuck)}")

    def finish(self, name: str) -> None:
        """``name`` ended: whatever waited only for it is ready."""
        for after in self.dependents[name]:
            self.waiting_on[after].discard(name)
            if not self.waiting_on[after]:
                self.ready.append(after)


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
        backend: Backend,
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
        run: _Run | None = None
        try:
            env = RunEnvironment.load(self.backend, execution, self.worker_id)
            run = self._prepare(execution, env)
            await self._schedule(run)
            outputs = self._outputs(run)
        except _Stop as stop:
            return self._finish(execution, env, stop.phase, stop.code, stop.message)
        except StigmerError as exc:
            message = f"{exc}" + (f"\nHint: {exc.hint}" if exc.hint else "")
            return self._finish(execution, env, ExecutionPhase.FAILED, type(exc).__name__.upper(), message)
        return self._finish(execution, env, ExecutionPhase.COMPLETED, outputs=outputs)

    # -- preparing -------------------------------------------------------------------------

    def _prepare(self, execution: WorkflowExecution, env: RunEnvironment) -> _Run:
        workflow = pinned_workflow(self.backend, execution)
        given = plain(to_dict(execution.spec.inputs)) if execution.spec.HasField("inputs") else {}
        inputs = resolve_inputs(workflow.spec.inputs, given)
        reads = _check_references(workflow, env)
        journal = Journal(
            self.backend,
            execution.metadata.id,
            self.worker_id,
            self.backend.list_steps(execution.metadata.id),
            self.clock,
            env.redact,
        )
        run = _Run(execution, workflow, inputs, env, journal, reads=reads)
        if execution.spec.retry_of and journal.next_step == 1:
            self._reuse(run)
        return run

    def _reuse(self, run: _Run) -> None:
        """A retry starts with the recorded results of the run it retries: every task before
        ``retry_from`` (or every task that completed, without it) is journaled as it ended
        there, and so never runs again."""
        spec = run.execution.spec
        source = self.backend.get_execution(spec.retry_of)
        if not isinstance(source, WorkflowExecution):
            raise InvalidArgument(f"{spec.retry_of} is not a workflow execution", field="spec.retryOf")
        recorded = Journal(
            self.backend,
            source.metadata.id,
            "",
            self.backend.list_steps(source.metadata.id),
            self.clock,
            run.env.redact,
        )
        graph = _Graph(run.workflow, run.reads)
        names = [t.name for t in run.workflow.spec.tasks]
        if spec.retry_from and spec.retry_from not in names:
            raise InvalidArgument(
                f"workflow {run.workflow.metadata.name!r} has no task {spec.retry_from!r}",
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
                    run.journal.end(key, 1, item, started=self.clock(), reused=source.metadata.id)
            run.journal.end(name, 1, outcome, started=self.clock(), reused=source.metadata.id)

    # -- scheduling ------------------------------------------------------------------------

    async def _schedule(self, run: _Run) -> None:
        graph = _Graph(run.workflow, run.reads)
        tasks = {t.name: t for t in run.workflow.spec.tasks}
        queued: deque[str] = deque()  # ready to run, waiting for a free slot
        running: dict[asyncio.Task[Outcome], str] = {}
        loop = asyncio.get_running_loop()
        last_cancel_check = loop.time()
        try:
            while True:
                while graph.ready:
                    name = graph.ready.popleft()
                    outcome = await self._settle(run, tasks[name], graph.gates[name])
                    if outcome is None:
                        queued.append(name)
                    else:
                        self._finished(run, graph, name, outcome)
                while queued and len(running) < self.concurrency:
                    name = queued.popleft()
                    running[asyncio.create_task(self._attempts(run, tasks[name], name, {}))] = name
                if graph.ready:
                    continue
                if not running:
                    graph.check_finished()
                    return
                if loop.time() - last_cancel_check >= CANCEL_CHECK_SECONDS:
                    last_cancel_check = loop.time()
                    self._check_cancel(run)
                if not queued and all(name in run.blocked for name in running.values()):
                    # Nothing moves until a person decides: hand the lease back meanwhile.
                    raise _Stop(ExecutionPhase.WAITING_APPROVAL)
                # While a task waits for a person, look again soon: the run parks once all do.
                wait = BLOCKED_CHECK_SECONDS if run.blocked else CANCEL_CHECK_SECONDS
                done, _ = await asyncio.wait(running, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                for finished_task in done:
                    self._finished(run, graph, running.pop(finished_task), finished_task.result())
        except BaseException as exc:
            await self._stop_running(run, running, exc)
            raise

    def _check_cancel(self, run: _Run) -> None:
        if self.backend.get_execution(run.execution.metadata.id).status.cancel_requested:
            raise _Stop(ExecutionPhase.CANCELLED, "CANCELLED", "cancelled while running")

    async def _settle(self, run: _Run, task: Task, gates: list[str]) -> Outcome | None:
        """The outcome of a task that needs no slot: on record, skipped, or computed at once
        (set, switch); None for one that must be scheduled."""
        recorded = run.journal.outcome(task.name)
        if recorded is not None:
            return recorded
        reason = self._skip_reason(run, task, gates)
        if reason:
            outcome = Outcome("SKIPPED", error=reason)
            run.journal.end(task.name, 1, outcome, started=self.clock())
            return outcome
        if task.WhichOneof("kind") in ("set", "switch"):
            outcome = await self._attempts(run, task, task.name, {})
            await asyncio.sleep(0)  # let the heartbeat in during long chains
            return outcome
        return None

    def _finished(self, run: _Run, graph: _Graph, name: str, outcome: Outcome) -> None:
        run.results[name] = outcome
        run.scope[name] = _task_scope(outcome)
        graph.finish(name)
        if not outcome.ok:
            code = outcome.code or "TASK_FAILED"
            raise _Stop(ExecutionPhase.FAILED, code, f"task {name!r} failed: {outcome.error}")

    async def _stop_running(
        self, run: _Run, running: dict[asyncio.Task[Outcome], str], why: BaseException
    ) -> None:
        """Cancel tasks in flight; their children too, unless the run only parks for a person."""
        parking = isinstance(why, _Stop) and why.phase == ExecutionPhase.WAITING_APPROVAL
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        if parking or not isinstance(why, _Stop):
            return  # children keep running or waiting; a resumed run finds them again
        reason = f"the workflow stopped: {why.message}"
        for key, child_id in list(run.children.items()):
            kinds.cancel_child(self.backend, child_id, self.worker_id, reason)
            run.children.pop(key, None)
        for key in list(run.journal.starts):
            if run.journal.outcome(key) is None:
                outcome = Outcome("CANCELLED", error=reason, code="CANCELLED")
                run.journal.end(key, run.journal.resume(key).attempt, outcome, started=self.clock())

    def _skip_reason(self, run: _Run, task: Task, gates: list[str]) -> str:
        for switch in gates:
            chosen = run.results[switch].outputs.get("enabled", [])
            if run.results[switch].phase == SUCCEEDED and task.name in chosen:
                break
        else:
            if gates:
                return f"not chosen by switch {', '.join(gates)}"
        deps = list(task.depends_on)
        if deps and all(run.results[d].phase == "SKIPPED" for d in deps):
            return "every dependency was skipped"
        if task.when:
            where = f"tasks.{task.name}.when"
            if not expressions.condition(task.when, run.context(), where=where):
                return f"when is false: {task.when}"
        return ""

    # -- one task ------------------------------------------------------------------------

    async def _attempts(self, run: _Run, task: Task, key: str, extra: dict[str, Any]) -> Outcome:
        """Run a task (or one forEach item) until it succeeds or its attempts are spent."""
        resume = run.journal.resume(key)
        attempt, started_input, retry_at = resume.attempt, resume.started, resume.retry_at
        max_attempts = max(task.retry.max_attempts, 1)
        timeout = parse_duration(task.timeout, field=f"tasks.{task.name}.timeout") if task.timeout else None
        while True:
            if retry_at:
                await kinds.sleep_until(retry_at, self.clock)
            started = self.clock()
            call = TaskCall(
                run.execution.metadata.id,
                run.execution.spec.environment,
                task,
                key,
                attempt,
                started_input or {},
                blocked=self._blocker(run, key, task),
            )
            retryable = True
            try:
                async with asyncio.timeout(timeout):
                    outputs = await self._execute(run, call, extra)
                faults.hit("workflow.task_executed")
                outcome = Outcome(SUCCEEDED, run.env.redact(outputs))
            except TaskError as exc:
                outcome = Outcome("FAILED", error=exc.message, code=exc.code)
                retryable = exc.retryable
            except TimeoutError:
                outcome = Outcome("FAILED", error=f"timed out after {task.timeout}", code="TIMEOUT")
                retryable = True
                self._abandon_child(run, key, f"task {key} timed out")
            except StigmerError as exc:
                outcome = Outcome("FAILED", error=str(exc), code=type(exc).__name__.upper())
                retryable = not isinstance(exc, InvalidArgument)
            if outcome.phase == SUCCEEDED:
                run.children.pop(key, None)
                run.journal.end(key, attempt, outcome, started=started)
                faults.hit("workflow.task_recorded")
                return outcome
            run.children.pop(key, None)
            outcome.error = run.env.redactor.text(outcome.error)
            if retryable and attempt < max_attempts:
                retry_at = kinds.deadline(self.clock(), _backoff(task, attempt))
                run.journal.end(key, attempt, outcome, started=started, retry_at=retry_at)
                attempt, started_input = attempt + 1, None
                continue
            outcome = _on_error(task, outcome)
            run.journal.end(key, attempt, outcome, started=started)
            faults.hit("workflow.task_recorded")
            return outcome

    def _blocker(self, run: _Run, key: str, task: Task) -> Callable[[bool], None]:
        def blocked(waiting: bool) -> None:
            if waiting and not (task.WhichOneof("kind") == "approval" and task.approval.timeout):
                run.blocked.add(key)
            else:
                run.blocked.discard(key)

        return blocked

    def _abandon_child(self, run: _Run, key: str, reason: str) -> None:
        child_id = run.children.pop(key, None)
        if child_id:
            kinds.cancel_child(self.backend, child_id, self.worker_id, reason)

    def _started(self, run: _Run, call: TaskCall, **extra: Any) -> None:
        """Journal the start of an attempt (once: a resumed in-flight attempt already has it)."""
        if not call.started:
            call.started = {"attempt": call.attempt, **extra}
            run.journal.start(call.key, call.attempt, **extra)
            faults.hit("workflow.task_started")

    async def _execute(self, run: _Run, call: TaskCall, extra: dict[str, Any]) -> dict[str, Any]:
        kind = call.task.WhichOneof("kind") or ""
        handler = self._kinds.get(kind)
        if handler is None:
            raise TaskError("UNKNOWN_KIND", f"task {call.task.name!r} has no kind", retryable=False)
        return await handler(self, run, call, _Fields(run.context(**extra), f"tasks.{call.key}"))

    async def _set(self, run: _Run, call: TaskCall, fields: _Fields) -> dict[str, Any]:
        return dict(fields.value(_struct(call.task.set), "set") or {})

    async def _switch(self, run: _Run, call: TaskCall, fields: _Fields) -> dict[str, Any]:
        for i, case in enumerate(call.task.switch.cases):
            if fields.condition(case.when, f"switch.cases[{i}].when"):
                return {"enabled": list(case.then), "case": i}
        return {"enabled": list(call.task.switch.default), "case": "default"}

    async def _http(self, run: _Run, call: TaskCall, fields: _Fields) -> dict[str, Any]:
        spec = call.task.http
        request = {
            "method": spec.method,
            "url": fields.value(spec.url, "http.url"),
            "headers": fields.value(dict(spec.headers), "http.headers"),
            "query": fields.value(dict(spec.query), "http.query"),
            "body": fields.value(_struct(spec.body), "http.body") if spec.HasField("body") else None,
            "expectStatus": list(spec.expect_status),
        }
        self._started(run, call)
        return await kinds.http(call, request)

    async def _python(self, run: _Run, call: TaskCall, fields: _Fields) -> dict[str, Any]:
        inputs = fields.inputs(call.task)
        self._started(run, call)
        return await kinds.python(call, inputs)

    async def _child(self, run: _Run, call: TaskCall, fields: _Fields) -> dict[str, Any]:
        child_id = str(call.started.get("childExecutionId", ""))
        if not child_id:
            inputs = fields.inputs(call.task)
            if call.task.WhichOneof("kind") == "agent":
                message = str(fields.value(call.task.message, "message") or "")
                child: Execution = kinds.new_agent_child(call, message, inputs)
            else:
                child = kinds.new_workflow_child(call, inputs)
            child_id = kinds.find_or_create_child(self.backend, call, child)
            self._started(run, call, childExecutionId=child_id)
        run.children[call.key] = child_id
        done = await kinds.run_child(self.backend, call, child_id, self.run_child)
        return kinds.child_result(done)

    async def _wait(self, run: _Run, call: TaskCall, fields: _Fields) -> dict[str, Any]:
        until = str(call.started.get("until", ""))
        if not until:
            seconds = parse_duration(call.task.wait.duration, field=f"{fields.where}.wait.duration")
            until = kinds.deadline(self.clock(), seconds)
            self._started(run, call, until=until)
        await kinds.sleep_until(until, self.clock)
        return {"until": until}

    async def _approval(self, run: _Run, call: TaskCall, fields: _Fields) -> dict[str, Any]:
        approval = call.task.approval
        message = str(fields.value(approval.message, "approval.message") or "")
        self._started(run, call)
        request: dict[str, Any] = {"task": call.key, "message": message}
        if approval.timeout:
            request["until"] = kinds.deadline(
                self.clock(), parse_duration(approval.timeout, field="approval.timeout")
            )
        step = run.journal.ask_approval(call.key, request)
        until = str(plain(to_dict(step.input)).get("until", "")) if step.HasField("input") else ""
        call.blocked(True)
        try:
            while step.status == WAITING:
                if until and datetime.fromisoformat(until) <= self.clock():
                    approve = approval.on_timeout == "approve"
                    run.journal.decide_approval(
                        call.key, {"approved": approve, "reason": "timed out", "by": "timeout"}
                    )
                    step = run.journal.approvals[call.key]
                    break
                await asyncio.sleep(kinds.POLL_SECONDS)
                step = run.journal.approval(call.key)
        finally:
            call.blocked(False)
        decision = kinds.approval_decision(output_of(step))
        if not decision["approved"]:
            reason = decision["reason"] or "no reason given"
            raise TaskError(
                "REJECTED", f"rejected by {decision['by'] or 'a person'}: {reason}", retryable=False
            )
        return decision

    async def _for_each(self, run: _Run, call: TaskCall, fields: _Fields) -> dict[str, Any]:
        task = call.task
        items = fields.value(task.for_each.items, "forEach.items")
        if not isinstance(items, list):
            raise TaskError(
                "INVALID_ITEMS",
                f"forEach.items must yield a list, got {type(items).__name__}: {str(items)[:100]}",
                retryable=False,
            )
        self._started(run, call, items=len(items))
        limit = asyncio.Semaphore(task.for_each.concurrency or DEFAULT_FOREACH_CONCURRENCY)
        do = task.for_each.do

        async def one(index: int, item: Any) -> Outcome:
            key = item_key(call.key, index)
            recorded = run.journal.outcome(key)
            if recorded is not None:
                return recorded
            scope = {"item": item, "index": index}
            if do.when and not expressions.condition(
                do.when, run.context(**scope), where=f"tasks.{key}.when"
            ):
                skipped = Outcome("SKIPPED", error=f"when is false: {do.when}")
                run.journal.end(key, 1, skipped, started=self.clock())
                return skipped
            async with limit:
                return await self._attempts(run, do, key, scope)

        results = await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
        failed = [(i, r) for i, r in enumerate(results) if not r.ok]
        if failed:
            i, outcome = failed[0]
            raise TaskError(
                outcome.code or "ITEM_FAILED", f"item {i} failed: {outcome.error}", retryable=False
            )
        return {"results": [r.outputs for r in results]}

    # -- the end ---------------------------------------------------------------------------

    def _outputs(self, run: _Run) -> dict[str, Any]:
        if not run.workflow.spec.HasField("outputs"):
            return {}
        value = expressions.evaluate(_struct(run.workflow.spec.outputs), run.context(), where="outputs")
        return dict(run.env.redact(value or {}))

    def _finish(
        self,
        execution: WorkflowExecution,
        env: RunEnvironment,
        phase: ExecutionPhase.ValueType,
        code: str = "",
        message: str = "",
        outputs: dict[str, Any] | None = None,
    ) -> WorkflowExecution:
        status = execution.status
        status.phase = phase
        status.ClearField("tasks")
        if phase != ExecutionPhase.WAITING_APPROVAL:
            status.end_time.FromDatetime(self.clock())
        if outputs:
            status.outputs.Clear()
            status.outputs.update(outputs)
        if code:
            status.error.code, status.error.message = code, env.redactor.text(message)
        return self.backend.update_execution_status(execution, worker_id=self.worker_id)

    _kinds: ClassVar[dict[str, Callable[..., Awaitable[dict[str, Any]]]]] = {
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


def pinned_workflow(backend: Backend, execution: WorkflowExecution) -> Workflow:
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


def _check_references(workflow: Workflow, env: RunEnvironment) -> dict[str, set[str]]:
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


def _backoff(task: Task, attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, with jitter when asked."""
    backoff = task.retry.backoff
    initial = parse_duration(backoff.initial, field="retry.backoff.initial") if backoff.initial else 1.0
    cap = parse_duration(backoff.max, field="retry.backoff.max") if backoff.max else 60.0
    delay = min(initial * (backoff.multiplier or 2.0) ** (attempt - 1), cap)
    if backoff.jitter:
        delay = random.uniform(delay / 2, delay)
    return delay


def _on_error(task: Task, outcome: Outcome) -> Outcome:
    """What a task's onError makes of its last failed attempt."""
    if task.on_error.HasField("output"):
        return Outcome(SUCCEEDED, plain(to_dict(task.on_error.output)), outcome.error, outcome.code)
    if task.on_error.action == "continue":
        outcome.tolerated = True
    return outcome


__all__ = ["DEFAULT_CONCURRENCY", "WorkflowRunner", "pinned_workflow"]
