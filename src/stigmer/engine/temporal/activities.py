"""The Temporal engine's activities: every side effect of a run, against the Stigmer store.

The workflow code decides (the shared scheduler); these do: open a run, begin and conclude
task attempts (the same :class:`~stigmer.runners.workflow.tasks.TaskAttempts` the local
engine calls), record skips, park a run that waits for a person, run an agent, finish a
run. Each writes the run's journal in the store with the same steps as the local engine,
so ``stigmer execution get/logs`` show the same whichever engine ran it. An activity tried
again by Temporal (its worker died, or its result was lost) reads the journal first: an
attempt that ended is not run again, and one in flight is run again under the same
attempt number (so an ``http`` task sends the same idempotency key).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflow.v1.workflow_pb2 import Task, Workflow
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import RunJournal
from stigmer.clock import utcnow
from stigmer.errors import Conflict, StigmerError
from stigmer.resources import expressions
from stigmer.resources.codec import to_dict
from stigmer.resources.inputs import resolve_inputs
from stigmer.resources.kinds import Execution
from stigmer.resources.steps import WAITING, input_of, output_of, plain
from stigmer.resources.trace_ids import run_trace_id
from stigmer.runners.agent.environment import RunEnvironment
from stigmer.runners.settings import DEFAULTS, RunSettings
from stigmer.runners.usage import children_usage
from stigmer.runners.workflow.attempt import Attempt, Begun, Tried
from stigmer.runners.workflow.journal import Journal, Outcome
from stigmer.runners.workflow.kinds import kind_of
from stigmer.runners.workflow.runner import (
    cancel_started,
    check_references,
    finish_status,
    pinned_workflow,
    reuse,
    run_deadline,
    run_outputs,
)
from stigmer.runners.workflow.tasks import RunContext, TaskAttempts, struct
from stigmer.store.leases import ENGINE_LEASE_SECONDS, ENGINE_PREFIX
from stigmer.telemetry.export import run_ended, run_started

from .codec import begun_from, begun_to, failure_from, outcome_to, tried_to

# The lease owner of every run the Temporal engine holds (see stigmer.store.leases).
ENGINE_OWNER = f"{ENGINE_PREFIX}temporal"
FINISHED = (ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED)
CACHED_RUNS = 256


@dataclass
class _Run:
    """What a worker keeps of a run between its activities (read once per process)."""

    workflow: Workflow
    tasks: dict[str, Task]
    reads: dict[str, set[str]]
    context: RunContext


@contextlib.asynccontextmanager
async def heartbeating(seconds: float) -> AsyncIterator[None]:
    """Heartbeat while the block runs, so that Temporal sees a dead worker within
    ``seconds`` × 3 (the heartbeat timeout) and tries the activity elsewhere."""

    async def beat() -> None:
        while True:  # not at once: most attempts end before their first heartbeat is due
            await asyncio.sleep(seconds)
            activity.heartbeat()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class StoreActivities:
    """The activities of one worker process, over one backend.

    Args:
        backend: The Stigmer store (the home's SQLite file, or a `stigmer server`).
        settings: The home's run settings (default model, prices), for agent runs.
        heartbeat_seconds: How often long activities heartbeat (the SDK sends them on at most
            as often as their workflow's heartbeat timeout needs).
    """

    def __init__(
        self, backend: RunJournal, *, settings: RunSettings = DEFAULTS, heartbeat_seconds: float = 1.0
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.heartbeat_seconds = heartbeat_seconds
        self._runs: OrderedDict[str, _Run] = OrderedDict()

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, for the worker."""
        return [
            self.open_run,
            self.attempt,
            self.conclude,
            self.skip,
            self.approval_state,
            self.check,
            self.park,
            self.unpark,
            self.stop_run,
            self.finish_run,
            self.run_agent,
            self.cancel_run,
        ]

    # -- runs ------------------------------------------------------------------------------

    def _hold(self, execution_id: str, *, retried: bool = False) -> Execution:
        """The run, held by this engine and RUNNING (a run queued again is claimed back); as it
        is when it is finished or waits for a person.

        A run taken from the queue counts as started, as a local worker's claim does; one
        ``retried`` (Temporal tried again the activity that held it: its worker died or
        stopped heartbeating) as taken over.
        """
        telemetry = self.settings.telemetry
        # The claim returns the run: it is read before only when telemetry counts the claim.
        current = self.backend.get_execution(execution_id) if telemetry is not None else None
        try:
            claimed = self.backend.claim_execution(
                ENGINE_OWNER, execution_id=execution_id, lease_seconds=ENGINE_LEASE_SECONDS
            )
        except Conflict:  # finished, or waiting for a person
            return self.backend.get_execution(execution_id)
        if claimed is None:  # a live local worker runs it: Temporal tries again later
            raise ApplicationError(f"execution {execution_id} is being run by another worker")
        if current is not None:
            queued = current.status.phase == ExecutionPhase.PENDING
            taken = claimed.status.taken_over_from not in ("", current.status.taken_over_from)
            if queued or retried or taken:
                run_started(claimed, telemetry, taken_over=retried and not queued)
        return claimed

    def _environment(self, execution: Execution) -> RunEnvironment:
        try:
            return RunEnvironment.load(self.backend, execution, ENGINE_OWNER)
        except Conflict:  # queued again since (a decision): take it back, then read
            return RunEnvironment.load(self.backend, self._hold(execution.metadata.id), ENGINE_OWNER)

    def _run(self, execution_id: str, execution: Execution | None = None) -> _Run:
        """What the run needs (cached); ``execution``: its record, when just read."""
        cached = self._runs.get(execution_id)
        if cached is not None:
            self._runs.move_to_end(execution_id)
            return cached
        execution = execution or self.backend.get_execution(execution_id)
        assert isinstance(execution, WorkflowExecution)
        workflow = pinned_workflow(self.backend, execution)
        given = plain(to_dict(execution.spec.inputs)) if execution.spec.HasField("inputs") else {}
        inputs = resolve_inputs(workflow.spec.inputs, given)
        env = self._environment(execution)
        reads = check_references(workflow, env)
        trace_id = run_trace_id(execution_id, execution.spec.trace_parent)
        context = RunContext(
            execution_id, execution.spec.environment, workflow.metadata.name, inputs, env, trace_id
        )
        run = _Run(workflow, {t.name: t for t in workflow.spec.tasks}, reads, context)
        self._runs[execution_id] = run
        while len(self._runs) > CACHED_RUNS:
            self._runs.popitem(last=False)
        return run

    def _journal(self, execution_id: str, env: RunEnvironment, *, read: bool) -> Journal:
        steps = self.backend.list_steps(execution_id) if read else []
        return Journal(self.backend, execution_id, ENGINE_OWNER, steps, utcnow, env.redact, append=True)

    @activity.defn(name="stigmer.open_run")
    async def open_run(self, execution_id: str) -> dict[str, Any]:
        """Hold the run and read what it needs: its workflow, what each task reads, and
        what its journal says (tasks that ended, attempts in flight)."""
        execution = self._hold(execution_id)
        if execution.status.phase in FINISHED:
            return {"finished": ExecutionPhase.Name(execution.status.phase)}
        self._runs.pop(execution_id, None)
        try:
            run = self._run(execution_id, execution)
            journal = self._journal(execution_id, run.context.env, read=True)
            assert isinstance(execution, WorkflowExecution)
            if execution.spec.retry_of and journal.next_step == 1:
                reuse(self.backend, execution, run.workflow, run.reads, journal, run.context.env, utcnow)
        except StigmerError as exc:
            message = f"{exc}" + (f"\nHint: {exc.hint}" if exc.hint else "")
            return {"error": {"code": type(exc).__name__.upper(), "message": message}}
        recorded: dict[str, Any] = {}
        resumes: dict[str, Any] = {}
        for key in {*journal.starts, *journal.ends}:
            outcome = journal.outcome(key)
            if outcome is not None:
                recorded[key] = outcome_to(outcome)
            else:
                resume = journal.resume(key)
                resumes[key] = [resume.attempt, resume.started, resume.retry_at]
        outputs = struct(run.workflow.spec.outputs) if run.workflow.spec.HasField("outputs") else None
        output_reads = sorted({n for r, n in expressions.references(outputs) if r == "tasks" and n})
        deadline = run_deadline(run.workflow, execution)
        return {
            "deadline": [deadline[0], deadline[1].isoformat()] if deadline else None,
            "workflow": to_dict(run.workflow),
            "reads": {name: sorted(names) for name, names in run.reads.items()},
            "recorded": recorded,
            "resumes": resumes,
            "outputReads": output_reads,
            "parked": execution.status.phase == ExecutionPhase.WAITING_APPROVAL,
        }

    # -- attempts --------------------------------------------------------------------------

    def _attempt(self, request: dict[str, Any]) -> tuple[_Run, Attempt]:
        run = self._run(str(request["executionId"]))
        task = run.tasks[str(request["task"])]
        parent = ""
        if request.get("item"):
            kind = kind_of(task)
            item_task = kind.item_task(task) if kind else None
            if item_task is None:
                raise ValueError(f"task {task.name!r} runs no items")
            parent, task = task.name, item_task
        call = Attempt(
            task,
            str(request["key"]),
            int(request["attempt"]),
            request.get("started"),
            dict(request.get("extra") or {}),
            parent,
        )
        return run, call

    def _attempts(self, run: _Run, journal: Journal) -> TaskAttempts:
        return TaskAttempts(
            self.backend, journal, run.context, run.tasks, worker_id=ENGINE_OWNER, clock=utcnow
        )

    @staticmethod
    def _ended(journal: Journal, call: Attempt) -> Tried | None:
        """How this attempt ended, when the journal says so (a try whose result was lost)."""
        end, start = journal.ends.get(call.key), journal.starts.get(call.key)
        if end is None or (start is not None and start.step > end.step):
            return None
        if int(input_of(end).get("attempt", 1)) != call.attempt:
            return None
        out = output_of(end)
        outcome = Outcome(
            str(out.get("phase", "COMPLETED")),
            dict(out.get("outputs") or {}),
            end.error,
            str(out.get("errorCode", "")),
            bool(out.get("tolerated", False)),
        )
        return Tried(outcome, str(out.get("retryAt", "")))

    @activity.defn(name="stigmer.attempt")
    async def attempt(self, request: dict[str, Any]) -> dict[str, Any]:
        """Begin an attempt; a task of a kind that finishes in one go runs to its end here."""
        run, call = self._attempt(request)
        handler = kind_of(call.task)
        kind = handler.field if handler else ""
        again = activity.info().attempt > 1
        reads = handler is not None and handler.reads_journal
        journal = self._journal(
            run.context.execution_id, run.context.env, read=again or bool(call.started) or reads
        )
        if again:
            ended = self._ended(journal, call)
            if ended is not None:
                return begun_to(Begun(kind, ended))
            start = journal.starts.get(call.key)
            if start is not None and int(input_of(start).get("attempt", 1)) == call.attempt:
                call.started = input_of(start)
        attempts = self._attempts(run, journal)
        scope = dict(request.get("scope") or {})
        if handler is None or not handler.heartbeats:  # computed here and now: nothing to heartbeat for
            return begun_to(await attempts.begin(call, scope))
        async with heartbeating(self.heartbeat_seconds):
            return begun_to(await attempts.begin(call, scope))

    @activity.defn(name="stigmer.conclude")
    async def conclude(self, request: dict[str, Any]) -> dict[str, Any]:
        """Record how the body of a durable attempt (a timer, an approval, a child run, a
        forEach) ended."""
        run, call = self._attempt(request)
        begun = begun_from(request["begun"])
        journal = self._journal(run.context.execution_id, run.context.env, read=True)
        ended = self._ended(journal, call)
        if ended is not None:
            return tried_to(ended)
        outputs = request.get("outputs")
        tried = self._attempts(run, journal).conclude(
            call, begun, outputs, failure_from(request.get("error"))
        )
        return tried_to(tried)

    @activity.defn(name="stigmer.skip")
    async def skip(self, request: dict[str, Any]) -> dict[str, Any]:
        """Record that a task is skipped."""
        run = self._run(str(request["executionId"]))
        journal = self._journal(run.context.execution_id, run.context.env, read=False)
        outcome = Outcome("SKIPPED", error=str(request["reason"]))
        journal.end(str(request["key"]), 1, outcome, started=utcnow())
        return outcome_to(outcome)

    @activity.defn(name="stigmer.approval_state")
    async def approval_state(self, request: dict[str, Any]) -> dict[str, Any]:
        """Whether a person decided the approval of a task (and whether the run is to stop)."""
        execution_id, key = str(request["executionId"]), str(request["key"])
        decided = False
        for step in self.backend.list_steps(execution_id):
            if step.name == f"approval:{key}":
                decided = step.status != WAITING
        current = self.backend.get_execution(execution_id)
        return {"decided": decided, "cancelled": current.status.cancel_requested}

    @activity.defn(name="stigmer.check")
    async def check(self, execution_id: str) -> dict[str, Any]:
        """Whether a cancel was asked for the run (a child run: its parent's engine woke it)."""
        current = self.backend.get_execution(execution_id)
        return {"cancelled": current.status.cancel_requested}

    # -- waiting for people ----------------------------------------------------------------

    @activity.defn(name="stigmer.park")
    async def park(self, execution_id: str) -> bool:
        """Show the run WAITING_APPROVAL, unless something changed since it decided to (a
        decision queued it again): then it goes on instead."""
        current = self.backend.get_execution(execution_id)
        if current.status.phase != ExecutionPhase.RUNNING:
            return False
        current.status.phase = ExecutionPhase.WAITING_APPROVAL
        try:
            parked = self.backend.update_execution_status(
                current, expected_version=current.metadata.version, worker_id=ENGINE_OWNER
            )
        except Conflict:
            return False
        run_ended(self.backend, parked, self.settings.telemetry)  # what it did so far, while it waits
        return True

    @activity.defn(name="stigmer.unpark")
    async def unpark(self, execution_id: str) -> None:
        """The run goes on after a decision: RUNNING again."""
        self._hold(execution_id)

    # -- the end ---------------------------------------------------------------------------

    @activity.defn(name="stigmer.stop_run")
    async def stop_run(self, request: dict[str, Any]) -> None:
        """The run stops: every attempt that started and has not ended is CANCELLED."""
        execution_id = str(request["executionId"])
        current = self.backend.get_execution(execution_id)
        if current.status.phase in FINISHED:
            return
        env = (
            self._run(execution_id).context.env
            if isinstance(current, WorkflowExecution)
            else RunEnvironment()
        )
        journal = self._journal(execution_id, env, read=True)
        with contextlib.suppress(Conflict):
            cancel_started(journal, str(request["reason"]), utcnow())

    @activity.defn(name="stigmer.finish_run")
    async def finish_run(self, request: dict[str, Any]) -> dict[str, Any]:
        """Record how the run ended; a completed run's outputs are evaluated here."""
        execution_id = str(request["executionId"])
        current = self.backend.get_execution(execution_id)
        assert isinstance(current, WorkflowExecution)
        if current.status.phase in FINISHED:
            return {"phase": ExecutionPhase.Name(current.status.phase)}
        phase = ExecutionPhase.Value(str(request["phase"]))
        code, message = str(request.get("code", "")), str(request.get("message", ""))
        outputs = None
        env = RunEnvironment()
        try:
            run = self._run(execution_id)
            env = run.context.env
            if phase == ExecutionPhase.COMPLETED:
                outputs = run_outputs(run.workflow, run.context, dict(request.get("scope") or {}))
        except StigmerError as exc:
            phase, code = ExecutionPhase.FAILED, type(exc).__name__.upper()
            message = f"{exc}" + (f"\nHint: {exc.hint}" if exc.hint else "")
        finish_status(current, env, phase, code, message, outputs, utcnow())
        children_usage(self.backend, execution_id).to_usage(current.status.usage)
        with contextlib.suppress(Conflict):
            current = self.backend.update_execution_status(current, worker_id=ENGINE_OWNER)
            run_ended(self.backend, current, self.settings.telemetry)
        self._runs.pop(execution_id, None)
        return {"phase": ExecutionPhase.Name(phase)}

    # -- agents ----------------------------------------------------------------------------

    @activity.defn(name="stigmer.run_agent")
    async def run_agent(self, execution_id: str) -> dict[str, Any]:
        """Run an agent execution as far as it goes (its end, or a tool call that needs a
        person); each model turn and tool call is a durable step, so a try after a dead
        worker goes on from the last one."""
        from stigmer.runners.agent.runner import AgentRunner

        held = self._hold(execution_id, retried=activity.info().attempt > 1)
        if held.status.phase in FINISHED or held.status.phase == ExecutionPhase.WAITING_APPROVAL:
            return {"phase": ExecutionPhase.Name(held.status.phase)}
        assert isinstance(held, AgentExecution)
        from stigmer.engine.drive import run_to_stop

        async def child(child_id: str) -> Execution:
            return await run_to_stop(self.backend, child_id, worker_id=ENGINE_OWNER, settings=self.settings)

        runner = AgentRunner(self.backend, worker_id=ENGINE_OWNER, settings=self.settings, run_child=child)
        async with heartbeating(self.heartbeat_seconds):
            done = await runner.run(held)
        run_ended(self.backend, done, self.settings.telemetry)
        return {"phase": ExecutionPhase.Name(done.status.phase)}

    @activity.defn(name="stigmer.cancel_run")
    async def cancel_run(self, request: dict[str, Any]) -> None:
        """End a run CANCELLED (its workflow in Temporal was cancelled)."""
        execution_id = str(request["executionId"])
        current = self.backend.get_execution(execution_id)
        if current.status.phase in FINISHED:
            return
        current.status.phase = ExecutionPhase.CANCELLED
        current.status.error.code, current.status.error.message = "CANCELLED", str(request["reason"])
        current.status.end_time.FromDatetime(utcnow())
        if isinstance(current, AgentExecution):
            current.status.ClearField("pending_approval")
            current.status.ClearField("messages")
            current.status.ClearField("tool_calls")
        else:
            current.status.ClearField("tasks")
        with contextlib.suppress(Conflict):
            ended = self.backend.update_execution_status(current, worker_id=ENGINE_OWNER)
            run_ended(self.backend, ended, self.settings.telemetry)
        self._runs.pop(execution_id, None)


__all__ = ["ENGINE_OWNER", "StoreActivities", "heartbeating"]
