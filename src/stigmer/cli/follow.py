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

from stigmer.api.backend.v1.backend_pb2 import ExecutionEvent, ExecutionStep
from stigmer.backend.protocol import Backend
from stigmer.errors import Unavailable
from stigmer.runners.agent.events import ApprovalNeeded, RunEvent, TextDelta, ToolFinished, ToolStarted

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


def _ms(step: ExecutionStep) -> int:
    if not (step.HasField("start_time") and step.HasField("end_time")):
        return 0
    return max(int(step.end_time.ToMilliseconds() - step.start_time.ToMilliseconds()), 0)


class StepEvents:
    """The live events a recorded step stands for, as a runner in this process would emit them.

    Remembers the sub-agent runs it announced, so a finished one is not announced twice.
    """

    def __init__(self) -> None:
        self.started: set[int] = set()

    def __call__(self, step: ExecutionStep) -> list[RunEvent]:
        from stigmer.resources.steps import AGENT, APPROVAL, MODEL, TOOL, WAITING, input_of, output_of

        out, inp = output_of(step), input_of(step)
        name = step.name.partition(":")[2]
        arguments = inp.get("arguments") or {}
        if step.name == MODEL:
            text = str(out.get("text", ""))
            return [TextDelta(text)] if text else []
        if step.name.startswith(APPROVAL):
            return [ApprovalNeeded(name, arguments)] if step.status == WAITING else []
        if not step.name.startswith((TOOL, AGENT)):
            return []
        events: list[RunEvent] = []
        if step.step not in self.started:
            events.append(ToolStarted(name, arguments, str(inp.get("server", ""))))
            self.started.add(step.step)
        if step.status != WAITING:
            text, is_error = str(out.get("text", "")), bool(out.get("isError", False))
            events.append(ToolFinished(name, text, is_error, _ms(step)))
        return events


__all__ = ["RECONNECT_SECONDS", "StepEvents", "follow", "reconnect_seconds"]
