"""Starting executions and seeing them through, for the SDK's clients.

Two ways to see a run through, chosen by where it runs:

- **here** (the local backend): the run is claimed and run in this process, as
  `stigmer agent execute` does; while another worker holds it, it is followed instead.
- **there** (a server): the server's worker runs it; its steps are followed over
  ``watch_execution`` (agents) or its record is polled (workflows).

Either way a run is seen through until it is finished or waits for a person. Everything
here talks to the Backend protocol only; the async client calls the blocking parts in
threads and awaits the in-process runs natively.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import ExecutionEvent
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import Backend
from stigmer.backend.runs import (
    check_resumable,
    new_agent_execution,
    new_workflow_execution,
    retried_execution,
)
from stigmer.errors import Conflict, ExecutionFailed, Unavailable
from stigmer.resources.kinds import Execution
from stigmer.sdk.events import Event, TaskDiff

if TYPE_CHECKING:
    from stigmer.runners.agent.events import StepEvents

T = TypeVar("T")

FINISHED = (ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED)
STOPPED = (*FINISHED, ExecutionPhase.WAITING_APPROVAL)
POLL_SECONDS = 0.25
RECONNECT_SECONDS = 60.0

Sink = Callable[[Event], None]


def check_finished(execution: Execution) -> None:
    """Raise :class:`ExecutionFailed`, carrying the record, when a run ended FAILED or CANCELLED."""
    phase = execution.status.phase
    if phase not in (ExecutionPhase.FAILED, ExecutionPhase.CANCELLED):
        return
    what = (
        f"of agent {execution.spec.agent!r}"
        if isinstance(execution, AgentExecution)
        else f"of workflow {execution.spec.workflow!r}"
    )
    error = execution.status.error
    reason = f": {error.message}" if error.message else ""
    code = f" ({error.code})" if error.code and error.code not in ("CANCELLED",) else ""
    raise ExecutionFailed(
        f"{execution.kind or type(execution).__name__} {execution.metadata.id} {what} "
        f"{ExecutionPhase.Name(phase)}{code}{reason}",
        hint=f"its steps: client.executions.steps({execution.metadata.id!r}), "
        f"or `stigmer execution logs {execution.metadata.id}`",
        execution=execution,
    )


# -- running here (in this process) -------------------------------------------------------


async def run_here(
    backend: Backend, execution_id: str, *, on_event: Sink | None = None, config_model: str = ""
) -> Execution:
    """Run an execution in this process until it is finished or waits for a person.

    While another live worker holds it (a `stigmer worker`, another program), it is
    followed instead, and taken over when that worker lets it go.
    """
    from stigmer.backend.watch import ExecutionWatch, last_step_sequence
    from stigmer.engine.local import new_worker_id, run_claimed
    from stigmer.runners.agent.events import StepEvents

    sink: Sink = on_event or _drop
    worker_id = new_worker_id()
    tasks = TaskDiff()
    watch: tuple[ExecutionWatch, StepEvents] | None = None
    while True:
        current = backend.get_execution(execution_id)
        for change in tasks(current):
            sink(change)
        if current.status.phase in STOPPED:
            return current
        try:
            if isinstance(current, AgentExecution):
                await run_claimed(
                    backend, execution_id, worker_id=worker_id, on_event=sink, config_model=config_model
                )
            else:
                running = asyncio.ensure_future(
                    run_claimed(backend, execution_id, worker_id=worker_id, config_model=config_model)
                )
                while not running.done():
                    await asyncio.wait([running], timeout=POLL_SECONDS)
                    for change in tasks(backend.get_execution(execution_id)):
                        sink(change)
                running.result()
            watch = None
        except Conflict:
            # Another worker runs it: show what it does until it is ours to run, or over.
            if isinstance(current, AgentExecution):
                if watch is None:
                    after = last_step_sequence(backend, execution_id)
                    watch = ExecutionWatch(execution_id, after), StepEvents()
                _emit_steps(watch[0].poll(backend), sink, watch[1])
            await asyncio.sleep(POLL_SECONDS)


def _drop(_: Event) -> None:
    pass


def _emit_steps(events: list[ExecutionEvent], sink: Sink, step_events: StepEvents) -> bool:
    """Pass the run events of watch ``events`` to ``sink``; whether the run stopped to wait."""
    from stigmer.backend.wire import unpack_execution

    for event in events:
        if event.HasField("step"):
            for run_event in step_events(event.step):
                sink(run_event)
        elif unpack_execution(event.execution).status.phase == ExecutionPhase.WAITING_APPROVAL:
            return True
    return False


def drive_here(
    backend: Backend, execution_id: str, *, config_model: str = ""
) -> Generator[Event, None, Execution]:
    """:func:`run_here` on an event loop of this generator's own: each ``next`` runs the
    execution until it has something to report. Closing the generator early stops the run
    and keeps its state (it is resumable)."""
    loop = asyncio.new_event_loop()
    pending: collections.deque[Event] = collections.deque()
    wake = asyncio.Event()

    def sink(event: Event) -> None:
        pending.append(event)
        wake.set()

    task = loop.create_task(run_here(backend, execution_id, on_event=sink, config_model=config_model))
    try:
        while True:
            while pending:
                yield pending.popleft()
            if task.done():
                return task.result()
            wake.clear()
            loop.run_until_complete(_either(task, wake))
    finally:
        if not task.done():
            task.cancel()
        loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


async def _either(task: asyncio.Future[Any], wake: asyncio.Event) -> None:
    waiter = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()


def in_event_loop() -> bool:
    """Whether this thread is running an asyncio event loop now."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def exhaust(events: Generator[Event, None, T]) -> T:
    """Run an event generator to its end, dropping the events; its result."""
    while True:
        try:
            next(events)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def exhaust_blocking(events: Generator[Event, None, T]) -> T:
    """:func:`exhaust`, in a helper thread when this one runs an event loop (a notebook), since
    an in-process run needs a loop of its own. The caller waits meanwhile, so the backend is
    still used by one thread at a time."""
    if not in_event_loop():
        return exhaust(events)
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(exhaust(events))
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    helper = threading.Thread(target=target, name="stigmer-run")
    helper.start()
    helper.join()
    if failure:
        raise failure[0]
    return outcome[0]


# -- following a run elsewhere ------------------------------------------------------------


def follow_there(
    backend: Backend,
    execution_id: str,
    *,
    after_sequence: int = 0,
    sleep: Callable[[float], None] = time.sleep,
) -> Generator[Event, None, Execution]:
    """Follow a run that another process (a server's worker) runs, until it is finished or
    waits for a person: an agent run's steps as run events, a workflow run's task changes.

    Agent runs are followed over ``watch_execution``, reconnecting after a lost connection
    where it left off; workflow runs by reading their record every :data:`POLL_SECONDS`.

    Raises:
        Unavailable: The backend stayed unreachable for :data:`RECONNECT_SECONDS`.
    """
    current = backend.get_execution(execution_id)
    if isinstance(current, WorkflowExecution):
        tasks = TaskDiff()
        while True:
            yield from tasks(current)
            if current.status.phase in STOPPED:
                return current
            sleep(POLL_SECONDS)
            current = backend.get_execution(execution_id)
    yield from _follow_agent(backend, execution_id, after_sequence, sleep)
    return backend.get_execution(execution_id)


def _follow_agent(
    backend: Backend, execution_id: str, after_sequence: int, sleep: Callable[[float], None]
) -> Generator[Event, None, None]:
    from stigmer.runners.agent.events import StepEvents

    step_events = StepEvents()
    cursor = after_sequence
    lost_at: float | None = None
    delay = 0.2
    while True:
        try:
            with contextlib.closing(backend.watch_execution(execution_id, after_sequence=cursor)) as events:
                for event in events:
                    lost_at, delay = None, 0.2
                    cursor = event.sequence
                    emitted: list[Event] = []
                    if _emit_steps([event], emitted.append, step_events):
                        return
                    yield from emitted
            return
        except Unavailable as exc:
            now = time.monotonic()
            lost_at = now if lost_at is None else lost_at
            if now - lost_at > RECONNECT_SECONDS:
                raise Unavailable(
                    f"the backend stayed unreachable for {now - lost_at:.0f}s while following "
                    f"execution {execution_id}: {exc.message}",
                    hint=f"the run goes on; see it later with client.executions.get({execution_id!r})",
                ) from None
            sleep(delay)
            delay = min(delay * 2, 2.0)


__all__ = [
    "FINISHED",
    "POLL_SECONDS",
    "STOPPED",
    "check_finished",
    "check_resumable",
    "drive_here",
    "exhaust",
    "exhaust_blocking",
    "follow_there",
    "in_event_loop",
    "new_agent_execution",
    "new_workflow_execution",
    "retried_execution",
    "run_here",
]
