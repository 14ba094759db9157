"""Starting executions and seeing them through, for the SDK's clients.

Seeing a run through is the engine's :func:`~stigmer.engine.drive.drive`: claimed and run
in this process (the local backend, as `stigmer agent execute` does), or followed while
another process (a worker, a server) runs it, until it is finished or waits for a person.
The async client iterates it on the caller's loop; the sync client on a loop of its own
(:func:`drive_sync`). Everything here talks to the Backend protocol only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Any, TypeVar, cast

from stigmer.backend.protocol import Backend
from stigmer.backend.runs import (
    check_resumable,
    new_agent_execution,
    new_workflow_execution,
    retried_execution,
    retried_run,
)
from stigmer.engine.drive import FINISHED, POLL_SECONDS, STOPPED, drive
from stigmer.resources.kinds import Execution
from stigmer.runners.events import ConnectionLost, Event, PhaseChanged, Reconnected, StepRecorded
from stigmer.runners.settings import DEFAULTS, RunSettings
from stigmer.sdk.events import check_finished

T = TypeVar("T")


async def see_through(
    backend: Backend,
    execution_id: str,
    final: list[Execution],
    *,
    run_here: bool,
    settings: RunSettings = DEFAULTS,
    after_sequence: int = 0,
    watch_tasks: bool = True,
) -> AsyncGenerator[Event, None]:
    """The events of a run, driven by the engine (run here, or followed) until it is finished
    or waits for a person; then its record is put in ``final``.

    A followed run shows the steps after ``after_sequence``; a run claimed here, whatever it
    does from now on. Without ``watch_tasks`` a workflow run's task changes are not reported
    (a caller that only waits for the end saves reading the whole record while it runs)."""
    async for event in drive(
        backend,
        execution_id,
        run_here=run_here,
        settings=settings,
        after_sequence=None if run_here else after_sequence,
        watch_tasks=watch_tasks,
    ):
        if isinstance(event, PhaseChanged):
            final[:] = [event.execution]
        elif not isinstance(event, ConnectionLost | Reconnected | StepRecorded):  # no steps asked for
            yield event


def drive_sync(
    loop: PrivateLoop, events: AsyncGenerator[Event, None], final: list[Execution]
) -> Generator[Event, None, Execution]:
    """Events of :func:`see_through` (or the like) for synchronous callers, on ``loop``: each
    ``next`` drives the run until it has something to report; then the record in ``final``.
    Closing the generator early stops a run of this process and keeps its state (it is
    resumable)."""
    try:
        while True:
            try:
                event = loop.run(events.__anext__())
            except StopAsyncIteration:
                return final[0]
            yield event
    finally:
        loop.run(events.aclose())


class PrivateLoop:
    """An event loop of one's own, for synchronous callers: run in the calling thread, or
    (when that thread runs a loop already, as in a notebook) in a helper thread while the
    caller waits, so the backend is still used by one thread at a time. Reusable after
    :meth:`close` (a new loop is made)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._helper: concurrent.futures.ThreadPoolExecutor | None = None

    def run(self, coro: Awaitable[T]) -> T:
        """Run ``coro`` to its end; its result."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        result: T = self._call(self._loop.run_until_complete, coro)
        return result

    def close(self) -> None:
        """Close the loop (its async generators and executor first)."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        try:
            self._call(loop.run_until_complete, loop.shutdown_asyncgens())
            self._call(loop.run_until_complete, loop.shutdown_default_executor())
        finally:
            self._call(loop.close)
            if self._helper is not None:
                self._helper.shutdown()
                self._helper = None

    def _call(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` in this thread, or in the helper thread when this one runs a loop."""
        if not in_event_loop():
            return call(*args)
        if self._helper is None:
            self._helper = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="stigmer-run")
        return self._helper.submit(call, *args).result()

    def __enter__(self) -> PrivateLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def complete_now(awaitable: Awaitable[T]) -> T:
    """The result of an awaitable that finishes without waiting for anything, such as the
    blocking implementation's backend calls (made in this thread): no event loop needed.

    Raises:
        RuntimeError: It waited for something (that needs an event loop: a bug).
    """
    steps = awaitable.__await__()
    try:
        steps.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    steps.close()
    raise RuntimeError("a call expected to finish at once waited for something; it needs an event loop")


def in_event_loop() -> bool:
    """Whether this thread is running an asyncio event loop now."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


__all__ = [
    "FINISHED",
    "POLL_SECONDS",
    "STOPPED",
    "PrivateLoop",
    "check_finished",
    "check_resumable",
    "complete_now",
    "drive_sync",
    "in_event_loop",
    "new_agent_execution",
    "new_workflow_execution",
    "retried_execution",
    "retried_run",
    "see_through",
]
