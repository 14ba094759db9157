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
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from typing import Any, TypeVar

from stigmer.backend.protocol import Backend
from stigmer.backend.runs import (
    check_resumable,
    new_agent_execution,
    new_workflow_execution,
    retried_execution,
)
from stigmer.engine.drive import FINISHED, POLL_SECONDS, STOPPED, drive
from stigmer.resources.kinds import Execution
from stigmer.runners.events import ConnectionLost, Event, PhaseChanged, Reconnected
from stigmer.sdk.events import check_finished

T = TypeVar("T")
Sink = Callable[[Event], None]


async def see_through(
    backend: Backend,
    execution_id: str,
    final: list[Execution],
    *,
    run_here: bool,
    config_model: str = "",
    after_sequence: int = 0,
) -> AsyncGenerator[Event, None]:
    """The events of a run, driven by the engine (run here, or followed) until it is finished
    or waits for a person; then its record is put in ``final``.

    A followed run shows the steps after ``after_sequence``; a run claimed here, whatever it
    does from now on."""
    async for event in drive(
        backend,
        execution_id,
        run_here=run_here,
        config_model=config_model,
        after_sequence=None if run_here else after_sequence,
    ):
        if isinstance(event, PhaseChanged):
            final[:] = [event.execution]
        elif not isinstance(event, ConnectionLost | Reconnected):
            yield event


async def run_here(
    backend: Backend, execution_id: str, *, on_event: Sink | None = None, config_model: str = ""
) -> Execution:
    """Run an execution in this process until it is finished or waits for a person (followed
    while another live worker holds it); its record then."""
    final: list[Execution] = []
    async for event in see_through(backend, execution_id, final, run_here=True, config_model=config_model):
        if on_event is not None:
            on_event(event)
    return final[0]


def drive_sync(
    backend: Backend,
    execution_id: str,
    *,
    run_here: bool,
    config_model: str = "",
    after_sequence: int = 0,
) -> Generator[Event, None, Execution]:
    """:func:`see_through` for synchronous callers, on an event loop of this generator's own:
    each ``next`` drives the run until it has something to report. Closing the generator
    early stops a run of this process and keeps its state (it is resumable)."""
    final: list[Execution] = []
    events = see_through(
        backend,
        execution_id,
        final,
        run_here=run_here,
        config_model=config_model,
        after_sequence=after_sequence,
    )
    with _PrivateLoop() as loop:
        try:
            while True:
                try:
                    event = loop.run(events.__anext__())
                except StopAsyncIteration:
                    return final[0]
                yield event
        finally:
            loop.run(events.aclose())


class _PrivateLoop:
    """An event loop of one's own: run in this thread, or (when this thread runs a loop
    already, as in a notebook) in a helper thread while this one waits, so the backend is
    still used by one thread at a time."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.helper = (
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="stigmer-run")
            if in_event_loop()
            else None
        )

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.helper is None:
            return self.loop.run_until_complete(coro)
        return self.helper.submit(self.loop.run_until_complete, coro).result()

    def __enter__(self) -> _PrivateLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.loop.shutdown_asyncgens())
        self.run(self.loop.shutdown_default_executor())
        if self.helper is not None:
            self.helper.submit(self.loop.close).result()
            self.helper.shutdown()
        else:
            self.loop.close()


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


__all__ = [
    "FINISHED",
    "POLL_SECONDS",
    "STOPPED",
    "check_finished",
    "check_resumable",
    "drive_sync",
    "exhaust",
    "in_event_loop",
    "new_agent_execution",
    "new_workflow_execution",
    "retried_execution",
    "run_here",
    "see_through",
]
