"""Driving one execution: claim it and run it here, or follow whoever runs it.

This is the one way every viewer sees a run through: ``stigmer agent execute``,
``stigmer workflow execute``, ``stigmer execution resume/approve/reject/retry``, the SDK's
clients, the dashboard and a parent run waiting for its child. :func:`drive` yields the
run's events (:mod:`stigmer.runners.events`) until the run is finished or waits for a
person; the caller only renders them.

- **here**: the run is claimed with a lease and run in this process (the local engine's
  :func:`run_claimed`); an agent run's events come straight from its
  runner, a workflow run's task changes from its record.
- **followed**: while another process holds the run (``stigmer worker``, a Temporal worker,
  a server's worker reached through ``RemoteBackend``, or another terminal), its recorded
  steps are read through the store's watch (:class:`~stigmer.backend.watch.ExecutionWatch`)
  and turned into the same events; when that process lets the run go (it parked, died or
  stopped) and this one may run it, it is claimed here.

Two drivers may race for one run (a terminal that waits for a decision and the one that
decides): the store's claim picks one, the other follows, and both show the same events.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import RunJournal
from stigmer.backend.watch import ExecutionWatch, last_step_sequence
from stigmer.errors import Conflict, Unavailable
from stigmer.resources.kinds import Execution
from stigmer.runners.agent.events import EventSink, ignore
from stigmer.runners.agent.runner import AgentRunner
from stigmer.runners.events import (
    ConnectionLost,
    DriveEvent,
    PhaseChanged,
    Reconnected,
    RunEvent,
    StepEvents,
    StepRecorded,
    TaskDiff,
)
from stigmer.runners.settings import DEFAULTS, RunSettings
from stigmer.telemetry.export import run_ended, run_started

FINISHED = (ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED)
STOPPED = (*FINISHED, ExecutionPhase.WAITING_APPROVAL)
POLL_SECONDS = 0.25
RECONNECT_SECONDS = 60.0


def reconnect_seconds() -> float:
    """How long a follower keeps reconnecting (``STIGMER_RECONNECT_SECONDS``, default 60)."""
    return float(os.environ.get("STIGMER_RECONNECT_SECONDS", RECONNECT_SECONDS))


class _Follower:
    """Reads what another process records of a run, as run events; rides out lost connections."""

    def __init__(
        self, backend: RunJournal, execution_id: str, after_sequence: int | None, *, steps: bool = False
    ) -> None:
        self.backend = backend
        self.raw = steps
        self.execution_id = execution_id
        start = last_step_sequence(backend, execution_id) if after_sequence is None else after_sequence
        self.watch = ExecutionWatch(execution_id, start)
        self.steps = StepEvents()

    def poll(self) -> tuple[Execution, list[RunEvent | StepRecorded]]:
        """The run's record (read before its steps) and the events of its new steps."""
        events: list[RunEvent | StepRecorded] = []
        for event in self.watch.poll(self.backend):
            if event.HasField("step") and self.raw:
                events.append(StepRecorded(event.step))
            elif event.HasField("step"):
                events += self.steps(event.step)
        assert self.watch.execution is not None  # each poll reads it
        return self.watch.execution, events


class _Connection:
    """A follower's hold on the backend: rides out a lost connection for a while."""

    def __init__(self, execution_id: str) -> None:
        self.execution_id = execution_id
        self.lost_at: float | None = None
        self.delay = 0.2

    def lost(self, exc: Unavailable) -> ConnectionLost | None:
        """The notice of a lost connection (once); raises once it stayed lost too long."""
        now = time.monotonic()
        if self.lost_at is None:
            self.lost_at = now
            return ConnectionLost(exc.message, reconnect_seconds())
        self.delay = min(self.delay * 2, 2.0)
        if now - self.lost_at > reconnect_seconds():
            raise Unavailable(
                f"the backend stayed unreachable for {now - self.lost_at:.0f}s while following "
                f"execution {self.execution_id}: {exc.message}",
                hint=f"the run goes on; `stigmer execution logs {self.execution_id} -f` follows it again",
            ) from None
        return None

    def back(self) -> None:
        self.lost_at, self.delay = None, 0.2


def lease_seconds() -> int:
    """How long a lease lasts without renewal (``STIGMER_LEASE_SECONDS``, default 30).

    Raises:
        InvalidArgument: The variable is not a whole number of seconds from 1 to 86400.
    """
    raw = os.environ.get("STIGMER_LEASE_SECONDS", "30").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 86400:
        from stigmer.errors import InvalidArgument

        raise InvalidArgument(
            f"STIGMER_LEASE_SECONDS must be a whole number of seconds from 1 to 86400, not {raw!r}",
            hint="unset it for the default (30)",
        )
    return int(raw)


def new_worker_id() -> str:
    """A worker id naming this host and process, so a dead worker can be recognised."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def _heartbeat(backend: RunJournal, execution_id: str, worker_id: str, seconds: int) -> None:
    while True:
        await asyncio.sleep(max(seconds / 3, 0.05))
        if not backend.renew_lease(execution_id, worker_id, lease_seconds=seconds):
            return  # lost it: the fenced writes of the run will stop it


async def run_execution(
    backend: RunJournal,
    execution: Execution,
    *,
    worker_id: str,
    on_event: EventSink = ignore,
    settings: RunSettings = DEFAULTS,
    keep_lease_on_cancel: bool = False,
) -> Execution:
    """Run an execution this worker has claimed, renewing its lease meanwhile.

    With ``keep_lease_on_cancel``, a run cancelled mid-way (a server shutting down) keeps its
    lease: another worker takes it over from its last recorded step once the lease expires.
    """

    async def child(child_id: str) -> Execution:
        # A child run goes the way every run goes: claimed here, or followed while another
        # worker holds it, until it ends or waits for a person.
        return await run_to_stop(backend, child_id, worker_id=worker_id, settings=settings)

    run_started(execution, settings.telemetry)
    seconds = lease_seconds()
    beat = asyncio.create_task(_heartbeat(backend, execution.metadata.id, worker_id, seconds))
    cancelled = False
    try:
        if isinstance(execution, AgentExecution):
            runner = AgentRunner(
                backend, worker_id=worker_id, on_event=on_event, settings=settings, run_child=child
            )
            ended: Execution = await runner.run(execution)
        else:
            from stigmer.runners.workflow.runner import WorkflowRunner

            ended = await WorkflowRunner(backend, worker_id=worker_id, run_child=child).run(execution)
        run_ended(backend, ended, settings.telemetry)
        return ended
    except asyncio.CancelledError:
        cancelled = True
        raise
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        if not (cancelled and keep_lease_on_cancel):
            backend.release_execution(execution.metadata.id, worker_id)


async def run_claimed(
    backend: RunJournal,
    execution_id: str,
    *,
    worker_id: str,
    on_event: EventSink = ignore,
    settings: RunSettings = DEFAULTS,
) -> Execution:
    """Claim one execution (agent or workflow) and run it here.

    Raises:
        Conflict: Another live worker holds it, or it is finished or waiting for approval.
    """
    claimed = backend.claim_execution(worker_id, lease_seconds=lease_seconds(), execution_id=execution_id)
    if claimed is None:
        raise Conflict(
            f"execution {execution_id} is being run by another worker",
            hint=f"follow it with `stigmer execution logs {execution_id} -f`",
        )
    return await run_execution(backend, claimed, worker_id=worker_id, on_event=on_event, settings=settings)


async def drive(
    backend: RunJournal,
    execution_id: str,
    *,
    run_here: bool = True,
    settings: RunSettings = DEFAULTS,
    worker_id: str = "",
    after_sequence: int | None = None,
    wait_for_decision: bool = False,
    watch_tasks: bool = True,
    poll_seconds: float = POLL_SECONDS,
    steps: bool = False,
    ended: asyncio.Future[Any] | None = None,
) -> AsyncIterator[DriveEvent]:
    """Claim-and-run or follow one execution, yielding its events, until it is finished or
    waits for a person (with ``wait_for_decision``: until it is finished, continuing it here
    whenever a decision makes it runnable again).

    Args:
        backend: Where the run is recorded.
        execution_id: The run.
        run_here: Whether this process may claim and run it (the local engine on a store it
            shares); else it is only followed.
        settings: The home's run settings (default model, prices).
        worker_id: The lease owner to claim as (a parent run passes its own); a new one else.
        after_sequence: When following, show the steps after this watch sequence; by default
            only what happens from now on.
        wait_for_decision: Keep going through approvals instead of stopping at the first.
        watch_tasks: Report a workflow run's task changes (a parent waiting for its child
            does not need them).
        poll_seconds: How often a followed run's record is read.
        steps: Yield a followed run's steps as recorded (:class:`StepRecorded`, as
            ``stigmer execution logs -f`` prints them) instead of the run events made of them.
        ended: Done when the engine that runs a followed run saw it end (the Temporal
            workflow's result): its record is read then, not at the next poll.

    Yields:
        Run events, task changes, and a :class:`PhaseChanged` for every phase seen (the last
        one carries the final record).

    Raises:
        Unavailable: The backend stayed unreachable for :func:`reconnect_seconds`.
    """
    worker_id = worker_id or new_worker_id()
    tasks = TaskDiff()
    # Following from the start, a finished run's steps are shown too (a replay).
    follower = None if run_here else _Follower(backend, execution_id, after_sequence, steps=steps)
    last_phase: ExecutionPhase.ValueType | None = None
    connection = _Connection(execution_id)
    while True:
        try:
            current, followed = _read(backend, execution_id, follower)
        except Unavailable as exc:
            notice = connection.lost(exc)
            if notice is not None:
                yield notice
            await asyncio.sleep(connection.delay)
            continue
        if connection.lost_at is not None:
            connection.back()
            yield Reconnected()
        news: list[DriveEvent] = [*followed, *(tasks(current) if watch_tasks else [])]
        phase = current.status.phase
        if phase != last_phase:
            last_phase = phase
            news.append(PhaseChanged(current))
        for news_event in news:
            yield news_event
        if phase in FINISHED or (phase == ExecutionPhase.WAITING_APPROVAL and not wait_for_decision):
            return
        if run_here and phase != ExecutionPhase.WAITING_APPROVAL:
            try:
                async for run_event in _run_here(backend, current, worker_id, settings, tasks, watch_tasks):
                    yield run_event
                follower = None
                continue
            except Conflict:
                pass  # another live worker holds it: follow it until it is ours to run, or over
        if follower is None:
            follower = _Follower(backend, execution_id, after_sequence, steps=steps)
            after_sequence = None  # a later follow shows only what is new then
            continue
        await _pause(poll_seconds, ended)


def _read(
    backend: RunJournal, execution_id: str, follower: _Follower | None
) -> tuple[Execution, list[RunEvent | StepRecorded]]:
    """The run's record, and what a follower has new (its poll reads the record: once is enough)."""
    if follower is not None:
        return follower.poll()
    return backend.get_execution(execution_id), []


async def _pause(seconds: float, ended: asyncio.Future[Any] | None) -> None:
    """Until the next poll of a followed run, or until its engine says it ended."""
    if ended is None or ended.done():
        await asyncio.sleep(seconds)
    else:
        await asyncio.wait([ended], timeout=seconds)


async def _run_here(
    backend: RunJournal,
    current: Execution,
    worker_id: str,
    settings: RunSettings,
    tasks: TaskDiff,
    watch_tasks: bool,
) -> AsyncIterator[DriveEvent]:
    """Claim and run ``current`` in this process, yielding its events as they come.

    Raises:
        Conflict: Another live worker holds it, or it is finished or waiting.
    """
    execution_id = current.metadata.id
    queue: asyncio.Queue[RunEvent] = asyncio.Queue()
    # A workflow's task changes are read from its record while it runs; an agent's events
    # come from its runner and wake this loop at once.
    tick = POLL_SECONDS if watch_tasks and isinstance(current, WorkflowExecution) else None
    running = asyncio.ensure_future(
        run_claimed(backend, execution_id, worker_id=worker_id, on_event=queue.put_nowait, settings=settings)
    )
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait([running, getter], timeout=tick, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()
            while not queue.empty():
                yield queue.get_nowait()
            if tick is not None:
                for change in tasks(backend.get_execution(execution_id)):
                    yield change
            if running.done():
                running.result()
                return
    finally:
        if not running.done():
            # The viewer stopped: the run stops here and keeps its state (it is resumable).
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError, Conflict):
                await running


async def run_to_stop(
    backend: RunJournal,
    execution_id: str,
    *,
    worker_id: str = "",
    settings: RunSettings = DEFAULTS,
    run_here: bool = True,
) -> Execution:
    """Drive a run (here, or by following it) until it is finished or waits; its record then.

    This is what a parent run hands its runner to start or continue a child run."""
    final: Execution | None = None
    async for event in drive(
        backend,
        execution_id,
        run_here=run_here,
        worker_id=worker_id,
        settings=settings,
        watch_tasks=False,
    ):
        if isinstance(event, PhaseChanged):
            final = event.execution
    assert final is not None  # drive reports the phase before it returns
    return final


__all__ = [
    "FINISHED",
    "POLL_SECONDS",
    "STOPPED",
    "drive",
    "lease_seconds",
    "new_worker_id",
    "reconnect_seconds",
    "run_claimed",
    "run_execution",
    "run_to_stop",
]
