"""An execution's live state as Server-Sent Events, from the backend's execution watch.

The stream carries three kinds of event:

- ``step`` (with ``id:`` = the watch sequence): a durable step was recorded or completed,
  in a compact form for the page's event log;
- ``phase`` (with ``id:``): the execution changed phase;
- ``snapshot`` (no id): the execution as the detail page shows it, after every poll that
  saw a change (and first of all), so the page redraws from one consistent record;

and ``end`` once the execution is finished. Sequences come from
:mod:`stigmer.backend.watch`: a browser that reconnects sends the last one it got as
``Last-Event-ID`` and continues after it, with no gap and no duplicate.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.watch import ExecutionWatch
from stigmer.backend.wire import unpack_execution
from stigmer.ui.api import execution_view
from stigmer.ui.pool import BackendPool
from stigmer.ui.views import step_summary

POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 1000


def frame(data: Any, *, event: str, event_id: int | None = None) -> bytes:
    """One SSE message (JSON data on one line)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"{head}event: {event}\ndata: {body}\n\n".encode()


def stream(
    pool: BackendPool,
    execution_id: str,
    *,
    after: int,
    stopping: threading.Event,
    poll_seconds: float = POLL_SECONDS,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> Iterator[bytes]:
    """The SSE messages of one execution after sequence ``after``, until it is finished or
    ``stopping`` is set. A backend is borrowed for each poll only, never while waiting."""
    watch = ExecutionWatch(execution_id, after)
    yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
    first = True
    quiet = 0.0
    while not stopping.is_set():
        with pool.borrow() as backend:
            events = watch.poll(backend)
            view = execution_view(backend, execution_id, with_graph=False) if events or first else None
        first = False
        for event in events:
            if event.HasField("step"):
                yield frame(step_summary(event.step), event="step", event_id=event.sequence)
            else:
                phase = unpack_execution(event.execution).status.phase
                yield frame({"phase": ExecutionPhase.Name(phase)}, event="phase", event_id=event.sequence)
        if view is not None:
            quiet = 0.0
            yield frame(view, event="snapshot")
        if watch.finished:
            yield frame({"sequence": watch.cursor}, event="end")
            return
        if stopping.wait(poll_seconds):
            return
        quiet += poll_seconds
        if quiet >= heartbeat_seconds:
            quiet = 0.0
            yield b": keep-alive\n\n"  # also finds out, by failing, that the browser has gone


__all__ = ["HEARTBEAT_SECONDS", "POLL_SECONDS", "frame", "stream"]
