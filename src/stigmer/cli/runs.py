"""Running an agent execution in the foreground: live output, approvals, the summary.

The answer streams to stdout as it is generated; tool calls, results and the closing
summary go to stderr, so `stigmer agent execute … > answer.txt` keeps only the answer.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import click

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.cli.context import App
from stigmer.runners.events import (
    ApprovalNeeded,
    ConnectionLost,
    InputNeeded,
    PhaseChanged,
    Reconnected,
    RunEvent,
    StepRecorded,
    TaskChanged,
    TextDelta,
    ToolFinished,
    ToolStarted,
)

PREVIEW = 160


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"


class LivePrinter:
    """Prints run events as they come."""

    def __init__(self) -> None:
        self.mid_line = False

    def __call__(self, event: RunEvent) -> None:
        if isinstance(event, TextDelta):
            sys.stdout.write(event.text)
            sys.stdout.flush()
            self.mid_line = not event.text.endswith("\n")
            return
        self.newline()
        if isinstance(event, ToolStarted):
            click.secho(f"→ {event.name} {_short(event.arguments)}", err=True, fg="cyan")
        elif isinstance(event, ToolFinished):
            mark, colour = ("✗", "red") if event.is_error else ("←", "green")
            click.secho(
                f"{mark} {event.name} ({event.duration_ms} ms): {_short(event.text)}", err=True, fg=colour
            )
        elif isinstance(event, ApprovalNeeded):
            click.secho(f"⏸ {event.name} {_short(event.arguments)} needs approval", err=True, fg="yellow")
        elif isinstance(event, InputNeeded):
            click.secho(f"⏸ {asked(event)}", err=True, fg="yellow")

    def newline(self) -> None:
        if self.mid_line:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self.mid_line = False


def asked(event: InputNeeded) -> str:
    """What an MCP server asks a person, in one line."""
    if event.kind == "sign-in":
        return event.message
    if event.kind == "sampling":
        return f"{event.server} asks the agent's model (during {event.tool}): {_short(event.message)}"
    if event.url:
        return f"{event.server} asks (during {event.tool}): {event.message} Open {event.url}"
    from stigmer.resources.elicitation import describe

    fields = describe(event.requested_schema, event.fields)
    return f"{event.server} asks (during {event.tool}): {event.message} [{fields}]"


def how_to_answer(execution_id: str, kind: str, url: str = "", server: str = "") -> str:
    """The commands that answer what a server asked."""
    if kind == "sign-in":
        return f"`stigmer mcpserver login {server}`"
    if kind == "sampling":
        return f"`stigmer execution approve {execution_id}` (or `reject {execution_id}`)"
    if url:
        return f"`stigmer execution respond {execution_id}` once done there (or --decline)"
    return f"`stigmer execution respond {execution_id} --set FIELD=VALUE …` (or --decline, --cancel)"


def summary(execution: AgentExecution) -> str:
    """One line: phase, turns, tokens, cost, model, id."""
    status = execution.status
    from stigmer.cli.output import usage_text

    parts = [ExecutionPhase.Name(status.phase), usage_text(status.usage)]
    if status.model:
        parts.append(status.model)
    parts.append(execution.metadata.id)
    return " · ".join(parts)


def where_runs(app: App) -> str:
    """Where runs go on when they do not run in this process."""
    if app.config.backend == "cloud":
        return f"the server at {app.config.server}"
    return app.engine.describe()


async def _render(
    app: App, execution_id: str, printer: LivePrinter | None, wait: bool, after_sequence: int | None
) -> AgentExecution:
    """Render what the engine reports of a run until it ends, or waits (and ``wait`` is off)."""
    from stigmer.cli.mcp_sign_in import offer_sign_in

    offer_sign_in()  # a run here may sign in to an MCP server that asks, with a person present
    where = where_runs(app)
    final: AgentExecution | None = None
    async for event in app.drive(execution_id, after_sequence=after_sequence, wait_for_decision=wait):
        if isinstance(event, PhaseChanged):
            assert isinstance(event.execution, AgentExecution)
            final = event.execution
            if final.status.phase == ExecutionPhase.WAITING_APPROVAL:
                if printer:
                    printer.newline()
                _announce(app, final, wait)
        elif isinstance(event, InputNeeded):
            if printer:
                printer(event)
            how = how_to_answer(execution_id, event.kind, event.url, event.server)
            verb = "Sign in with" if event.kind == "sign-in" else "Answer with"
            click.secho(
                f"{verb} {how} from any terminal; the run continues then.",
                err=True,
                fg="yellow",
            )
        elif isinstance(event, ConnectionLost | Reconnected):
            say_connection(event, where)
        elif printer and not isinstance(event, TaskChanged | StepRecorded):
            printer(event)
    if printer:
        printer.newline()
    assert final is not None  # the engine reports the phase before it stops
    return final


def say_connection(event: ConnectionLost | Reconnected, where: str) -> None:
    """Say on stderr that following a run lost its connection to ``where``, or got it back."""
    if isinstance(event, ConnectionLost):
        click.secho(
            f"Lost the connection: {event.message}. Reconnecting for up to {event.retry_seconds:g}s "
            "(Ctrl-C stops watching; the execution itself goes on).",
            err=True,
            fg="yellow",
        )
    else:
        click.secho(f"Reconnected to {where}; continuing where it left off.", err=True, fg="yellow")


def _announce(app: App, waiting: AgentExecution, wait: bool) -> None:
    execution_id = waiting.metadata.id
    pending = waiting.status.pending_input
    if waiting.status.HasField("pending_input"):
        what = "a decision on" if pending.kind == "sampling" else "an answer to"
        waits = f"The run parked, waiting for {what} what {pending.server} asked during {pending.tool}."
        if pending.kind == "sign-in":
            waits = f"The run parked, waiting for a sign-in to MCP server {pending.server!r}."
        how = how_to_answer(execution_id, pending.kind, pending.url, pending.server)
    else:
        tool = waiting.status.pending_approval.name
        waits = f"Waiting for approval of {tool}."
        how = f"`stigmer execution approve {execution_id}` (or `reject {execution_id} --reason …`)"
    if not wait:
        elsewhere = "" if app.runs_here else f" (on {where_runs(app)})"
        click.secho(f"{waits} Decide with {how}; the run continues then{elsewhere}.", err=True, fg="yellow")
        return
    click.secho(f"{waits} Run {how} from any terminal. Ctrl-C leaves it waiting.", err=True, fg="yellow")


def run_foreground(
    app: App, execution_id: str, *, fmt: str, wait_for_approval: bool = True, after_sequence: int = 0
) -> AgentExecution:
    """Run (or continue) an execution here and report it; exit code 1 when it failed.

    Against a server (the cloud backend), the server's worker runs it and this follows it,
    showing the events after ``after_sequence`` (what a run continued here would show).
    """
    printer = LivePrinter() if fmt == "table" else None
    started = time.perf_counter()
    remote = not app.runs_here
    try:
        after = None if app.runs_here else after_sequence
        done = asyncio.run(_render(app, execution_id, printer, wait_for_approval, after))
    except KeyboardInterrupt:
        if remote:
            click.echo(
                f"\nStopped watching. The execution goes on on {where_runs(app)}: "
                f"`stigmer execution logs {execution_id} -f` follows it again.",
                err=True,
            )
        else:
            click.echo(
                "\nStopped watching. The execution keeps its state: "
                f"`stigmer execution resume {execution_id}` continues it.",
                err=True,
            )
        sys.exit(130)
    final = app.backend.get_execution(execution_id)
    assert isinstance(final, AgentExecution)
    if fmt == "table":
        if final.status.phase == ExecutionPhase.FAILED or final.status.phase == ExecutionPhase.CANCELLED:
            click.secho(f"Error: {final.status.error.message}", err=True, fg="red")
        click.secho(f"— {summary(final)} · {time.perf_counter() - started:.1f}s", err=True, dim=True)
    else:
        from stigmer.cli.output import render

        click.echo(render([final], fmt, single=True))
    if done.status.phase in (ExecutionPhase.FAILED, ExecutionPhase.CANCELLED):
        sys.exit(1)
    return final


__all__ = ["LivePrinter", "run_foreground", "summary", "where_runs"]
