"""Following an execution's events, through reconnects: `execution logs -f` and, against a
server, `agent execute`.

A lost connection (a server restarting, a network blip) is said on stderr, then the watch
is opened again after the last event received, so nothing is printed twice or skipped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import click

from stigmer.api.backend.v1.backend_pb2 import ExecutionEvent
from stigmer.backend.protocol import Backend
from stigmer.errors import Unavailable

RECONNECT_SECONDS = 60.0


def reconnect_seconds() -> float:
    """How long to keep reconnecting (``STIGMER_RECONNECT_SECONDS``, default 60)."""
    return float(os.environ.get("STIGMER_RECONNECT_SECONDS", RECONNECT_SECONDS))


def follow(
    backend: Backend,
    execution_id: str,
    on_event: Callable[[ExecutionEvent], None],
    *,
    after_sequence: int = 0,
    where: str = "the server",
) -> int:
    """Pass every event of an execution to ``on_event`` until it is finished; the last sequence.

    Raises:
        Unavailable: The backend stayed unreachable for longer than :func:`reconnect_seconds`.
    """
    cursor = after_sequence
    lost_at: float | None = None
    delay = 0.2
    while True:
        try:
            events = backend.watch_execution(execution_id, after_sequence=cursor)
            if lost_at is not None:
                click.secho(f"Reconnected to {where}; continuing where it left off.", err=True, fg="yellow")
                lost_at, delay = None, 0.2
            for event in events:
                on_event(event)
                cursor = event.sequence
            return cursor
        except Unavailable as exc:
            now = time.monotonic()
            if lost_at is None:
                lost_at = now
                click.secho(
                    f"Lost the connection: {exc.message}. Reconnecting for up to "
                    f"{reconnect_seconds():g}s (Ctrl-C stops watching; the execution itself goes on).",
                    err=True,
                    fg="yellow",
                )
            elif now - lost_at > reconnect_seconds():
                raise Unavailable(
                    f"{where} stayed unreachable for {now - lost_at:.0f}s while following execution "
                    f"{execution_id}: {exc.message}",
                    hint=f"once it is back, `stigmer execution logs {execution_id} -f` follows it again",
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


__all__ = ["RECONNECT_SECONDS", "follow", "reconnect_seconds"]
