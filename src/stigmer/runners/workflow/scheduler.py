"""The graph walk of a workflow run: which task starts when, and what its end means.

Every engine runs this same code, so a workflow behaves the same wherever it runs. It
decides: a task starts as soon as everything it waits for has ended (its dependencies,
the tasks its expressions read, the switches that gate it), at most ``concurrency`` at a
time; it is SKIPPED when a switch chose other tasks or every dependency was skipped; a
failed attempt is tried again when its retry allows, at the time the attempt recorded; the
body of a durable kind (a timer, an approval, a child run, a ``forEach``'s items) is its
kind's :meth:`~stigmer.runners.workflow.kinds.TaskKind.wait`; a failure that is not
tolerated stops the run. It does no I/O, reads no clock and draws no random number:
everything that touches the world goes through the :class:`Effects` of the engine (the
local engine calls the store directly; the Temporal engine makes each an activity, a
timer, a signal or a child workflow), so it is deterministic as Temporal workflow code
must be.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflow.v1.workflow_pb2 import Task, Workflow
from stigmer.resources.durations import parse_duration
from stigmer.runners.workflow.attempt import Attempt, Begun, Blocked, Failure, Tried
from stigmer.runners.workflow.journal import SUCCEEDED, Outcome
from stigmer.runners.workflow.kinds import kind_named, kind_of


class Rollover(Exception):
    """The engine wants the run continued afresh (Temporal's continue-as-new, before its history
    grows too long): no new task was started, and none is in flight."""


class Stop(Exception):
    """Ends a run with a phase (and an error) that the engine records."""

    def __init__(self, phase: ExecutionPhase.ValueType, code: str = "", message: str = "") -> None:
        super().__init__(message)
        self.phase, self.code, self.message = phase, code, message


@dataclass(frozen=True)
class TimeLimit:
    """The wall time a whole run may take (its workflow's ``timeout``), and how much is left."""

    timeout: str
    seconds_left: float

    def stop(self, stopped: list[str]) -> Stop:
        """How a run past its timeout ends, naming the tasks it stopped."""
        tasks = f"; stopped {', '.join(stopped)}" if stopped else ""
        return Stop(
            ExecutionPhase.FAILED,
            "LIMIT_TIME",
            f"the workflow's timeout of {self.timeout} passed{tasks}",
        )


class Effects(Protocol):
    """What the scheduler needs done in the world; each engine provides it."""

    @property
    def concurrency(self) -> int:
        """How many tasks of one run may be in flight at once."""
        ...

    def recorded(self, key: str) -> Outcome | None:
        """The final outcome on record for ``key`` (a task or item that already ended)."""
        ...

    def resume(self, key: str) -> tuple[int, dict[str, Any] | None, str]:
        """(attempt, what its start recorded, when it is due) for a task not ended yet."""
        ...

    def inline(self, task: Task) -> bool:
        """Whether to run ``task`` at once, without taking a slot (cheap, local ones)."""
        ...

    def rollover(self) -> bool:
        """Whether to start no new task: once those in flight end, the run stops with
        :class:`Rollover`, for the engine to continue it afresh from its journal."""
        ...

    async def skip(self, key: str, reason: str) -> Outcome:
        """Record that ``key`` is skipped."""
        ...

    async def begin(self, attempt: Attempt, scope: dict[str, Any]) -> Begun:
        """Begin an attempt: check ``when`` (first attempt of a task), evaluate its fields
        against ``scope`` (the outcomes of the tasks it reads), record its start and, for a
        kind that is not durable, run it and record its end."""
        ...

    async def conclude(
        self, attempt: Attempt, begun: Begun, outputs: dict[str, Any] | None, error: Failure | None
    ) -> Tried:
        """Record how the body of a durable attempt ended (its outputs, or ``error``)."""
        ...

    async def sleep_until(self, moment: str) -> None:
        """Wait until a recorded instant (durably, where the engine can)."""
        ...

    async def approval(self, attempt: Attempt, begun: Begun, blocked: Blocked) -> None:
        """Wait until a person decides the approval of ``attempt`` (or its timeout passes)."""
        ...

    async def child(self, attempt: Attempt, begun: Begun, blocked: Blocked) -> None:
        """Run (or follow) the child run ``begun.child_id`` until it ends."""
        ...

    def abandon(self, key: str, reason: str) -> None:
        """An attempt timed out: stop what it started (its child run)."""
        ...

    async def wait(self, ended: asyncio.Event) -> None:
        """Wait until a running task ends (``ended`` is set), or something else may have
        changed (a cancel was checked for, a person decided); raise :class:`Stop` when the
        run is to stop."""
        ...

    async def park(self) -> None:
        """Nothing can move until a person decides: wait for it without holding a worker
        (raise Stop(WAITING_APPROVAL) to hand the run back)."""
        ...

    async def stop(self, reason: str) -> None:
        """The run stops: end its child runs and record every started attempt as CANCELLED."""
        ...


class Graph:
    """Which tasks can start: each waits for its dependencies, for the tasks its expressions
    read, and for the switches that gate it."""

    def __init__(self, workflow: Workflow, reads: dict[str, set[str]]) -> None:
        order = [t.name for t in workflow.spec.tasks]
        self.gates: dict[str, list[str]] = {name: [] for name in order}
        for t in workflow.spec.tasks:
            kind = kind_of(t)
            targets = {target for _, target, _ in kind.targets(t)} if kind else set()
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

    def finish(self, name: str) -> None:
        """``name`` ended: whatever waited only for it is ready."""
        for after in self.dependents[name]:
            self.waiting_on[after].discard(name)
            if not self.waiting_on[after]:
                self.ready.append(after)


def task_scope(outcome: Outcome) -> dict[str, Any]:
    """What ``tasks.NAME`` holds in expressions once NAME ended."""
    outputs = outcome.outputs
    single = outputs["output"] if set(outputs) == {"output"} else outputs
    return {"outputs": outputs, "output": single, "phase": outcome.phase, "error": outcome.error}


class Scheduler:
    """Runs the tasks of one run to their end through an engine's :class:`Effects`.

    Args:
        workflow: The (pinned) workflow.
        reads: The tasks each task's expressions read (it waits for them, and its
            expressions see their outcomes).
        effects: The engine.
        time_limit: The run's timeout, when its workflow has one: past it, the tasks in
            flight are cancelled (and recorded so) and the run stops FAILED (LIMIT_TIME).
    """

    def __init__(
        self,
        workflow: Workflow,
        reads: dict[str, set[str]],
        effects: Effects,
        time_limit: TimeLimit | None = None,
    ) -> None:
        self.workflow = workflow
        self.time_limit = time_limit
        self.reads = reads
        self.effects = effects
        self.graph = Graph(workflow, reads)
        self.tasks = {t.name: t for t in workflow.spec.tasks}
        self.results: dict[str, Outcome] = {}
        self.scope: dict[str, Any] = {}
        self.blocked: set[str] = set()
        self.queued: deque[str] = deque()  # ready to run, waiting for a free slot
        self.running: dict[asyncio.Task[Outcome], str] = {}
        # Tasks that ended, in the order they did (the same on every replay of a Temporal
        # workflow), and the event their ends (and a task that starts or stops waiting for a
        # person) set: waiting costs the same with 10 or 10,000 tasks in flight.
        self.ended: deque[asyncio.Task[Outcome]] = deque()
        self.any_ended = asyncio.Event()

    async def run(self) -> dict[str, Outcome]:
        """Run every task that has not ended; return each task's outcome.

        Raises:
            Stop: A task failed (FAILED), the run was cancelled (CANCELLED), it ran past its
                timeout (FAILED, LIMIT_TIME), or it waits for a person and the engine hands it
                back (WAITING_APPROVAL).
        """
        limit = self.time_limit
        if limit is None:
            return await self._run()
        if limit.seconds_left > 0:
            deadline = asyncio.timeout(limit.seconds_left)
            try:
                async with deadline:
                    return await self._run()
            except TimeoutError:
                if not deadline.expired():
                    raise
        # Past the deadline: what was in flight was cancelled (by the timeout, or by the
        # process that parked or died meanwhile); record it so and stop.
        stopped = sorted(set(self.running.values()))
        self.running.clear()
        await self.effects.stop(f"the workflow's timeout of {limit.timeout} passed")
        raise limit.stop(stopped)

    async def _run(self) -> dict[str, Outcome]:
        try:
            while True:
                await self._start_ready()
                if self.graph.ready:
                    continue
                if not self.running:
                    if self.queued:  # held back for a rollover: the run goes on afresh
                        raise Rollover()
                    self._check_finished()
                    return self.results
                if not self.ended:
                    await self._wait()
                while self.ended:
                    finished = self.ended.popleft()
                    self._finished(self.running.pop(finished), finished.result())
        except GeneratorExit:
            raise  # the coroutine is closed (a Temporal worker evicting it): nothing may be awaited
        except BaseException as exc:
            await self._stop_running(self.running, exc)
            raise

    async def _start_ready(self) -> None:
        """Settle every ready task, and start the queued ones while there are free slots."""
        graph = self.graph
        while graph.ready:
            name = graph.ready.popleft()
            outcome = await self._settle(self.tasks[name])
            if outcome is None:
                self.queued.append(name)
            else:
                self._finished(name, outcome)
        while self.queued and len(self.running) < self.effects.concurrency and not self.effects.rollover():
            name = self.queued.popleft()
            attempt = asyncio.create_task(self.attempts(self.tasks[name], name))
            attempt.add_done_callback(self._on_end)
            self.running[attempt] = name

    def _on_end(self, task: asyncio.Task[Outcome]) -> None:
        self.ended.append(task)
        self.any_ended.set()

    async def _wait(self) -> None:
        """Wait for a task to end; park first when nothing can move until a person decides."""
        running, blocked = self.running, self.blocked
        # (len first: the all() is for when it may hold, not for every task that ends)
        if not self.queued and len(blocked) >= len(running) and all(n in blocked for n in running.values()):
            await self.effects.park()
        self.any_ended.clear()
        if not self.ended:
            await self.effects.wait(self.any_ended)

    def _check_finished(self) -> None:
        """Nothing runs and nothing is ready: every task must have ended (a cycle of
        references, which validation refuses, would leave some waiting forever)."""
        stuck = [n for n, waits in self.graph.waiting_on.items() if waits and n not in self.results]
        if stuck:
            raise Stop(ExecutionPhase.FAILED, "STUCK", f"tasks that can never start: {', '.join(stuck)}")

    async def _settle(self, task: Task) -> Outcome | None:
        """The outcome of a task that needs no slot: on record, skipped, or computed at once
        (when the engine runs it inline); None for one that must be scheduled."""
        recorded = self.effects.recorded(task.name)
        if recorded is not None:
            return recorded
        reason = self._skip_reason(task)
        if reason:
            return await self.effects.skip(task.name, reason)
        if self.effects.inline(task):
            return await self.attempts(task, task.name)
        return None

    def _skip_reason(self, task: Task) -> str:
        """Why a task is skipped before its own condition is even read ("" when it is not)."""
        gates = self.graph.gates[task.name]
        for switch in gates:
            chosen = self.results[switch].outputs.get("enabled", [])
            if self.results[switch].phase == SUCCEEDED and task.name in chosen:
                break
        else:
            if gates:
                return f"not chosen by switch {', '.join(gates)}"
        deps = list(task.depends_on)
        if deps and all(self.results[d].phase == "SKIPPED" for d in deps):
            return "every dependency was skipped"
        return ""

    def _finished(self, name: str, outcome: Outcome) -> None:
        self.results[name] = outcome
        self.scope[name] = task_scope(outcome)
        self.graph.finish(name)
        if not outcome.ok:
            code = outcome.code or "TASK_FAILED"
            raise Stop(ExecutionPhase.FAILED, code, f"task {name!r} failed: {outcome.error}")

    async def _stop_running(self, running: dict[asyncio.Task[Outcome], str], why: BaseException) -> None:
        """Cancel tasks in flight; their children too, unless the run only parks for a person."""
        parking = isinstance(why, Stop) and why.phase == ExecutionPhase.WAITING_APPROVAL
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        if parking or not isinstance(why, Stop):
            return  # children keep running or waiting; a resumed run finds them again
        await self.effects.stop(f"the workflow stopped: {why.message}")

    def scope_for(self, task: Task, parent: str = "") -> dict[str, Any]:
        """The outcomes a task's expressions may read (those of the tasks it reads)."""
        names = self.reads.get(parent or task.name, set())
        return {name: self.scope[name] for name in sorted(names) if name in self.scope}

    # -- one task ------------------------------------------------------------------------

    async def attempts(self, task: Task, key: str, extra: dict[str, Any] | None = None) -> Outcome:
        """Run a task (or one forEach item) until it succeeds or its attempts are spent."""
        attempt, started, retry_at = self.effects.resume(key)
        parent = key.partition("[")[0] if extra is not None else ""
        while True:
            if retry_at:
                await self.effects.sleep_until(retry_at)
            call = Attempt(task, key, attempt, started, dict(extra or {}), parent)
            call.alone = extra is None and len(self.running) <= 1 and not self.queued and not self.graph.ready
            tried = await self._attempt(call)
            if not tried.retry_at:
                return tried.outcome
            attempt, started, retry_at = attempt + 1, None, tried.retry_at

    async def _attempt(self, call: Attempt) -> Tried:
        begun = await self.effects.begin(call, self.scope_for(call.task, call.parent))
        if begun.tried is not None:
            return begun.tried
        task = call.task
        timeout = parse_duration(task.timeout, field=f"tasks.{task.name}.timeout") if task.timeout else None
        outputs: dict[str, Any] | None = None
        error: Failure | None = None
        try:
            async with asyncio.timeout(timeout):
                outputs, error = await self._body(call, begun)
        except TimeoutError:
            self.effects.abandon(call.key, f"task {call.key} timed out")
            error = Failure("TIMEOUT", f"timed out after {task.timeout}")
        finally:
            self.blocked.discard(call.key)
        return await self.effects.conclude(call, begun, outputs, error)

    async def _body(self, call: Attempt, begun: Begun) -> tuple[dict[str, Any] | None, Failure | None]:
        """The part of a durable attempt that waits on the world: its kind's."""
        return await kind_named(begun.kind).wait(self, call, begun)

    # -- what a durable kind's body may use (see stigmer.runners.workflow.kinds.Walk) -----

    def blocker(self, key: str, blocking: bool) -> Blocked:
        """What a body calls while it waits for a person (``blocking``: for nothing else)."""

        def blocked(waiting: bool) -> None:
            if waiting and blocking:
                self.blocked.add(key)
            else:
                self.blocked.discard(key)
            # The run loop looks again at once: it parks as soon as every running task waits.
            self.any_ended.set()

        return blocked

    def recorded(self, key: str) -> Outcome | None:
        """The outcome on record for ``key``."""
        return self.effects.recorded(key)

    async def sleep_until(self, moment: str) -> None:
        """Wait until a recorded instant."""
        await self.effects.sleep_until(moment)

    async def approval(self, call: Attempt, begun: Begun, blocked: Blocked) -> None:
        """Wait until a person decides (or the approval's timeout passes)."""
        await self.effects.approval(call, begun, blocked)

    async def child(self, call: Attempt, begun: Begun, blocked: Blocked) -> None:
        """Run (or follow) the attempt's child run until it ends."""
        await self.effects.child(call, begun, blocked)


__all__ = [
    "Attempt",
    "Begun",
    "Blocked",
    "Effects",
    "Failure",
    "Graph",
    "Rollover",
    "Scheduler",
    "Stop",
    "TimeLimit",
    "Tried",
    "task_scope",
]
