"""A tool call that a cancel of its run interrupts.

A run learns of a cancel from its record, which it reads between steps; a tool call can
last minutes, so while one is in flight the record is read every
:data:`CANCEL_POLL_SECONDS`. A cancel interrupts the call: the MCP client tells the server
(``notifications/cancelled``) and nobody waits for the tool to finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from stigmer.backend.protocol import RunJournal

T = TypeVar("T")

CANCEL_POLL_SECONDS = 0.5


class RunCancelled(Exception):
    """The run was cancelled while a tool call was in flight (the call was abandoned)."""


async def unless_cancelled(backend: RunJournal, execution_id: str, call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``, abandoned as soon as the run's record says it is cancelled.

    The call runs in the caller's task; a timer reads the record every
    :data:`CANCEL_POLL_SECONDS` and cancels the task when the run is cancelled. A call that
    ends sooner costs one timer and no read of the record (most tool calls: this wraps
    every one).

    Raises:
        RunCancelled: A cancel was requested before the call returned.
    """
    task = asyncio.current_task()
    if task is None:  # not in a task: nothing to interrupt
        return await call()
    loop = asyncio.get_running_loop()
    cancelled = False
    timer: asyncio.TimerHandle

    def check() -> None:
        nonlocal cancelled, timer
        record = backend.get_execution(execution_id)  # one indexed read; the backend is not thread-safe
        if record.status.cancel_requested:
            cancelled = True
            # Cancelling the call is what tells the MCP server (notifications/cancelled).
            task.cancel()
        else:
            timer = loop.call_later(CANCEL_POLL_SECONDS, check)

    timer = loop.call_later(CANCEL_POLL_SECONDS, check)
    try:
        result = await call()
    except asyncio.CancelledError:
        if cancelled and task.uncancel() == 0:
            raise RunCancelled(execution_id) from None
        raise  # cancelled by someone else (the run's own task is stopping)
    finally:
        timer.cancel()
    if cancelled:  # the call swallowed the cancel and returned: the run is cancelled all the same
        task.uncancel()
        raise RunCancelled(execution_id)
    return result


__all__ = ["CANCEL_POLL_SECONDS", "RunCancelled", "unless_cancelled"]
