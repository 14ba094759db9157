"""A tool call that a cancel of its run interrupts.

A run learns of a cancel from its record, which it reads between steps; a tool call can
last minutes, so while one is in flight the record is read every
:data:`CANCEL_POLL_SECONDS`. A cancel interrupts the call: the MCP client tells the server
(``notifications/cancelled``) and nobody waits for the tool to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from stigmer.backend.protocol import RunJournal

T = TypeVar("T")

CANCEL_POLL_SECONDS = 0.5


class RunCancelled(Exception):
    """The run was cancelled while a tool call was in flight (the call was abandoned)."""


async def unless_cancelled(backend: RunJournal, execution_id: str, call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``, abandoned as soon as the run's record says it is cancelled.

    A call that ends within :data:`CANCEL_POLL_SECONDS` costs one task and no read of the
    record (most tool calls: this wraps every one).

    Raises:
        RunCancelled: A cancel was requested before the call returned.
    """
    task = asyncio.ensure_future(call())
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=CANCEL_POLL_SECONDS)
            if done:
                return task.result()
            record = backend.get_execution(execution_id)  # one indexed read; the backend is not thread-safe
            if record.status.cancel_requested:
                raise RunCancelled(execution_id)
    finally:
        if not task.done():
            # Cancelling it is what tells the MCP server (notifications/cancelled).
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


__all__ = ["CANCEL_POLL_SECONDS", "RunCancelled", "unless_cancelled"]
