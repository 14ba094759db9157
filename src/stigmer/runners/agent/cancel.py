"""A tool call that a cancel of its run interrupts.

A run learns of a cancel from its record, which it reads between steps; a tool call can
last minutes, so while one is in flight the record is read every
:data:`CANCEL_POLL_SECONDS`. A cancel interrupts the call: the MCP client tells the server
(``notifications/cancelled``) and nobody waits for the tool to finish.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from stigmer.backend.protocol import RunJournal

T = TypeVar("T")

CANCEL_POLL_SECONDS = 0.5


class RunCancelled(Exception):
    """The run was cancelled while a tool call was in flight (the call was abandoned)."""


async def unless_cancelled(backend: RunJournal, execution_id: str, call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``, abandoned as soon as the run's record says it is cancelled.

    Raises:
        RunCancelled: A cancel was requested before the call returned.
    """
    result: list[T] = []
    cancelled = False

    async def run_call(scope: anyio.CancelScope) -> None:
        result.append(await call())
        scope.cancel()

    async def watch(scope: anyio.CancelScope) -> None:
        nonlocal cancelled
        while True:
            await anyio.sleep(CANCEL_POLL_SECONDS)
            record = backend.get_execution(execution_id)  # one indexed read; the backend is not thread-safe
            if record.status.cancel_requested:
                cancelled = True
                scope.cancel()
                return

    async with anyio.create_task_group() as group:
        group.start_soon(run_call, group.cancel_scope)
        group.start_soon(watch, group.cancel_scope)
    if cancelled and not result:
        raise RunCancelled(execution_id)
    return result[0]


__all__ = ["CANCEL_POLL_SECONDS", "RunCancelled", "unless_cancelled"]
