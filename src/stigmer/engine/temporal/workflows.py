"""The Temporal workflows of the Temporal engine: one per Stigmer execution, with its id.

:class:`StigmerWorkflow` runs a WorkflowExecution with the same scheduler as the local
engine (:mod:`stigmer.runners.workflow.scheduler`); its effects are Temporal's: each task
attempt is an activity (retried by Temporal when its worker dies), ``wait`` is a durable
timer, a ``retry`` waits on a timer until the time its failed attempt recorded, an
approval waits for the ``wake`` signal (sent when a person decides, see
:mod:`stigmer.engine.temporal.control`), a child run is a child workflow, and cancel is
Temporal's cancellation. :class:`StigmerAgent` runs an AgentExecution: an activity runs
its model loop, whose turns and tool calls are durable steps in the store, and waits for
the ``wake`` signal when a tool call needs a person.

Workflow code must be deterministic: it reads no clock but ``workflow.now()``, and
touches the store only through activities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ChildWorkflowCancellationType, ChildWorkflowHandle

with workflow.unsafe.imports_passed_through():
    from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
    from stigmer.api.workflow.v1.workflow_pb2 import Task, Workflow
    from stigmer.engine.temporal.codec import (
        attempt_to,
        begun_from,
        begun_to,
        failure_to,
        outcome_from,
        tried_from,
    )
    from stigmer.resources.codec import from_dict
    from stigmer.resources.durations import parse_duration
    from stigmer.runners.workflow.attempt import Attempt, Begun, Blocked, Failure, Tried
    from stigmer.runners.workflow.journal import Outcome
    from stigmer.runners.workflow.kinds import all_kinds, kind_named, kind_of
    from stigmer.runners.workflow.scheduler import Rollover, Scheduler, Stop, TimeLimit

    # Every kind's module is imported here, outside the sandbox: workflow code only looks them up.
    all_kinds()

# Tasks of one run in flight at once. The local engine runs 16 in one process; here the
# workers' activity slots bound the work, and Temporal allows 2,000 pending activities.
CONCURRENCY = 500
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=0.5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    # A try lost with its worker counts here; a task's own retries are the scheduler's.
    maximum_attempts=20,
)
SHORT = timedelta(minutes=2)
# A store-only activity (conclude, skip, check, park...) sends no heartbeats: Temporal learns
# its worker died only when this runs out, so it is short. It outlasts the store's own wait
# for its write lock (30 s), so a try that merely queued for the lock is not run twice.
STORE_ONLY = timedelta(seconds=40)
LONG = timedelta(days=30)


def _request(payload: dict[str, Any]) -> tuple[str, float]:
    return str(payload["executionId"]), float(payload.get("heartbeatSeconds", 20.0))


def _child_request(payload: dict[str, Any], child_id: str) -> dict[str, Any]:
    """A child run's workflow input: the parent's settings, the child's id."""
    return {**payload, "executionId": child_id}


async def _notify_parent(execution_id: str, waiting: bool) -> None:
    """Tell the parent run that this child waits for a person (or no longer does)."""
    parent = workflow.info().parent
    if parent is not None:
        handle = workflow.get_external_workflow_handle(parent.workflow_id)
        try:
            await handle.signal("child_blocked", args=[execution_id, waiting])
        except Exception:  # the parent ended meanwhile: nobody to tell
            workflow.logger.info("could not tell %s that %s waits", parent.workflow_id, execution_id)


class _Effects:
    """The scheduler's effects as Temporal activities, timers, signals and child workflows."""

    def __init__(self, owner: StigmerWorkflow, request: dict[str, Any], plan: dict[str, Any]) -> None:
        self.owner = owner
        self.request = request
        self.execution_id, self.heartbeat = _request(request)
        # Continue the run afresh past this many history events (0: when Temporal suggests it).
        self.history_events = int(request.get("historyEvents", 0))
        self._recorded = {key: outcome_from(value) for key, value in plan["recorded"].items()}
        self._resumes = {key: (int(r[0]), r[1], str(r[2] or "")) for key, r in plan["resumes"].items()}
        self.parked = bool(plan.get("parked"))

    async def _call(
        self, name: str, arg: Any, *, timeout: timedelta = STORE_ONLY, beats: bool = False
    ) -> Any:
        return await workflow.execute_activity(
            name,
            arg,
            start_to_close_timeout=timeout,
            heartbeat_timeout=timedelta(seconds=self.heartbeat) if beats else None,
            retry_policy=RETRY,
        )

    @property
    def concurrency(self) -> int:
        return CONCURRENCY

    def recorded(self, key: str) -> Outcome | None:
        return self._recorded.get(key)

    def resume(self, key: str) -> tuple[int, dict[str, Any] | None, str]:
        return self._resumes.get(key, (1, None, ""))

    def inline(self, task: Task) -> bool:
        return False

    def rollover(self) -> bool:
        info = workflow.info()
        if self.history_events:
            return info.get_current_history_length() > self.history_events
        return info.is_continue_as_new_suggested()

    async def skip(self, key: str, reason: str) -> Outcome:
        request = {"executionId": self.execution_id, "key": key, "reason": reason}
        return outcome_from(await self._call("stigmer.skip", request))

    async def begin(self, attempt: Attempt, scope: dict[str, Any]) -> Begun:
        task = attempt.task
        timeout = LONG
        kind = kind_of(task)
        if task.timeout and kind is not None and not kind.durable:
            # The attempt enforces its own timeout; this only ends a try whose worker hangs.
            timeout = timedelta(seconds=parse_duration(task.timeout, field="timeout") + 60)
        request = attempt_to(self.execution_id, attempt, scope)
        return begun_from(await self._call("stigmer.attempt", request, timeout=timeout, beats=True))

    async def conclude(
        self, attempt: Attempt, begun: Begun, outputs: dict[str, Any] | None, error: Failure | None
    ) -> Tried:
        request = attempt_to(self.execution_id, attempt, {})
        request.update(begun=begun_to(begun), outputs=outputs, error=failure_to(error))
        return tried_from(await self._call("stigmer.conclude", request))

    async def sleep_until(self, moment: str) -> None:
        seconds = (datetime.fromisoformat(moment) - workflow.now()).total_seconds()
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def approval(self, attempt: Attempt, begun: Begun, blocked: Blocked) -> None:
        request = {"executionId": self.execution_id, "key": attempt.key}
        blocked(True)
        try:
            while True:
                seen = self.owner.wakes
                state = await self._call("stigmer.approval_state", request)
                if state["cancelled"]:
                    raise Stop(ExecutionPhase.CANCELLED, "CANCELLED", "cancelled while running")
                if state["decided"]:
                    break
                timeout = None
                if begun.until:
                    timeout = (datetime.fromisoformat(begun.until) - workflow.now()).total_seconds()
                    if timeout <= 0:
                        break  # concluding decides it as its timeout says
                try:
                    await workflow.wait_condition(self._woken(seen), timeout=timeout)
                except TimeoutError:
                    break
        finally:
            blocked(False)
        await self.unpark()

    async def child(self, attempt: Attempt, begun: Begun, blocked: Blocked) -> None:
        child_id = begun.child_id
        kind = kind_named(begun.kind).child_workflow
        self.owner.blockers[child_id] = blocked
        try:
            handle: ChildWorkflowHandle[Any, Any] = await workflow.start_child_workflow(
                kind,
                _child_request(self.request, child_id),
                id=child_id,
                task_queue=workflow.info().task_queue,
                cancellation_type=ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
            self.owner.children[child_id] = handle
            try:
                await handle
            except ChildWorkflowError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise asyncio.CancelledError() from None  # this attempt was cancelled: the child with it
                # Else concluding reads how the child ended from its record.
        finally:
            self.owner.children.pop(child_id, None)
            self.owner.blockers.pop(child_id, None)
            blocked(False)
        await self.unpark()

    def _woken(self, seen: int) -> Callable[[], bool]:
        return lambda: self.owner.wakes > seen

    def abandon(self, key: str, reason: str) -> None:
        """Nothing to do: a timed-out attempt's child workflow is cancelled with it."""

    async def wait(self, ended: asyncio.Event) -> None:
        owner = self.owner
        seen = owner.wakes
        await workflow.wait_condition(lambda: ended.is_set() or owner.wakes > seen)
        if owner.wakes > seen:
            state = await self._call("stigmer.check", self.execution_id)
            if state["cancelled"]:
                raise Stop(ExecutionPhase.CANCELLED, "CANCELLED", "cancelled while running")

    async def park(self) -> None:
        if self.parked:
            return
        self.parked = bool(await self._call("stigmer.park", self.execution_id))
        if self.parked:
            await _notify_parent(self.execution_id, True)

    async def unpark(self) -> None:
        if not self.parked:
            return
        await self._call("stigmer.unpark", self.execution_id)
        self.parked = False
        await _notify_parent(self.execution_id, False)

    async def stop(self, reason: str) -> None:
        await self._call("stigmer.stop_run", {"executionId": self.execution_id, "reason": reason})


@workflow.defn(name="StigmerWorkflow")
class StigmerWorkflow:
    """A WorkflowExecution: its tasks, scheduled as the local engine schedules them."""

    def __init__(self) -> None:
        self.wakes = 0
        self.children: dict[str, ChildWorkflowHandle[Any, Any]] = {}
        self.blockers: dict[str, Blocked] = {}

    @workflow.signal(name="wake")
    async def wake(self) -> None:
        """Something changed in the store for this run (a decision): look again, and tell
        the child runs, whose approvals it may have decided."""
        self.wakes += 1
        for child_id, handle in list(self.children.items()):
            try:
                await handle.signal("wake")
            except Exception:  # it ended meanwhile
                workflow.logger.info("could not wake the child run %s", child_id)

    @workflow.signal(name="child_blocked")
    def child_blocked(self, child_id: str, waiting: bool) -> None:
        """A child run waits for a person (or goes on)."""
        blocked = self.blockers.get(child_id)
        if blocked is not None:
            blocked(waiting)

    @workflow.run
    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        execution_id, _ = _request(request)
        # Opening and finishing a run are short reads and writes of the store, idempotent:
        # local activities, run by the worker that runs the workflow, without a round trip.
        plan: dict[str, Any] = await workflow.execute_local_activity(
            "stigmer.open_run", execution_id, start_to_close_timeout=SHORT, retry_policy=RETRY
        )
        if "finished" in plan:
            return {"phase": plan["finished"]}
        if "error" in plan:
            error = plan["error"]
            return await self._finish(execution_id, "FAILED", error["code"], error["message"])
        effects = _Effects(self, request, plan)
        limit = None
        if plan.get("deadline"):
            timeout, at = plan["deadline"]
            limit = TimeLimit(timeout, (datetime.fromisoformat(at) - workflow.now()).total_seconds())
        scheduler = Scheduler(
            from_dict(Workflow, plan["workflow"]),
            {name: set(names) for name, names in plan["reads"].items()},
            effects,
            limit,
        )
        try:
            await scheduler.run()
        except Rollover:
            # Its history is long: the run goes on as a new Temporal run of the same workflow
            # id, which reads what ended from the journal (nothing is in flight).
            workflow.continue_as_new(request)
        except Stop as stop:
            return await self._finish(execution_id, ExecutionPhase.Name(stop.phase), stop.code, stop.message)
        except asyncio.CancelledError:
            reason = "cancelled while running"
            await effects.stop(f"the workflow stopped: {reason}")
            await self._finish(execution_id, "CANCELLED", "CANCELLED", reason)
            raise
        except Exception as exc:  # the engine could not go on (an activity kept failing)
            return await self._finish(execution_id, "FAILED", "ENGINE_ERROR", f"{type(exc).__name__}: {exc}")
        scope = {name: scheduler.scope[name] for name in plan["outputReads"] if name in scheduler.scope}
        return await self._finish(execution_id, "COMPLETED", scope=scope)

    async def _finish(
        self,
        execution_id: str,
        phase: str,
        code: str = "",
        message: str = "",
        scope: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request = {
            "executionId": execution_id,
            "phase": phase,
            "code": code,
            "message": message,
            "scope": scope,
        }
        result: dict[str, Any] = await workflow.execute_local_activity(
            "stigmer.finish_run", request, start_to_close_timeout=SHORT, retry_policy=RETRY
        )
        return result


@workflow.defn(name="StigmerAgent")
class StigmerAgent:
    """An AgentExecution: its model loop in an activity, waiting for people in between."""

    def __init__(self) -> None:
        self.wakes = 0

    @workflow.signal(name="wake")
    def wake(self) -> None:
        """A person decided a tool call this run waits for (or something else changed)."""
        self.wakes += 1

    def _woken(self, seen: int) -> Callable[[], bool]:
        return lambda: self.wakes > seen

    @workflow.run
    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        execution_id, heartbeat = _request(request)
        waiting = False
        try:
            while True:
                seen = self.wakes
                result: dict[str, Any] = await workflow.execute_activity(
                    "stigmer.run_agent",
                    execution_id,
                    start_to_close_timeout=LONG,
                    heartbeat_timeout=timedelta(seconds=heartbeat),
                    retry_policy=RETRY,
                )
                if result["phase"] != "WAITING_APPROVAL":
                    if waiting:
                        await _notify_parent(execution_id, False)
                    return result
                if not waiting:
                    waiting = True
                    await _notify_parent(execution_id, True)
                await workflow.wait_condition(self._woken(seen))
        except asyncio.CancelledError:
            await workflow.execute_activity(
                "stigmer.cancel_run",
                {"executionId": execution_id, "reason": "cancelled while running"},
                start_to_close_timeout=SHORT,
                retry_policy=RETRY,
            )
            raise


__all__ = ["CONCURRENCY", "StigmerAgent", "StigmerWorkflow"]
