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
from stigmer.runners.agent.events import ApprovalNeeded, RunEvent, TextDelta, ToolFinished, ToolStarted

PREVIEW = 160
APPROVAL_POLL_SECONDS = 0.5


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

    def newline(self) -> None:
        if self.mid_line:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self.mid_line = False


def summary(execution: AgentExecution) -> str:
    """One line: phase, turns, tokens, model, id."""
    status = execution.status
    usage = status.usage
    parts = [
        ExecutionPhase.Name(status.phase),
        f"{usage.model_calls} model call{'s' if usage.model_calls != 1 else ''}",
        f"{usage.input_tokens} in / {usage.output_tokens} out tokens",
    ]
    if status.model:
        parts.append(status.model)
    parts.append(execution.metadata.id)
    return " · ".join(parts)


async def _wait_for_decision(app: App, execution_id: str) -> AgentExecution:
    while True:
        current = app.backend.get_execution(execution_id)
        assert isinstance(current, AgentExecution)
        if current.status.phase != ExecutionPhase.WAITING_APPROVAL:
            return current
        await asyncio.sleep(APPROVAL_POLL_SECONDS)


async def _foreground(app: App, execution_id: str, printer: LivePrinter | None, wait: bool) -> AgentExecution:
    from stigmer.cli.mcp_sign_in import offer_sign_in
    from stigmer.engine.local import new_worker_id, run_claimed

    offer_sign_in()
    worker_id = new_worker_id()
    while True:
        done = await run_claimed(
            app.backend,
            execution_id,
            worker_id=worker_id,
            on_event=printer or (lambda _: None),
            config_model=str(app.config.extra.get("model", "")),
        )
        assert isinstance(done, AgentExecution)
        if printer:
            printer.newline()
        if done.status.phase == ExecutionPhase.WAITING_APPROVAL and not wait:
            click.secho(
                f"Waiting for approval of {done.status.pending_approval.name}. Decide with "
                f"`stigmer execution approve {execution_id}` or `stigmer execution reject {execution_id}`; "
                "the run continues then.",
                err=True,
                fg="yellow",
            )
        if done.status.phase != ExecutionPhase.WAITING_APPROVAL or not wait:
            return done
        pending = done.status.pending_approval
        click.secho(
            f"Waiting for approval of {pending.name}: run `stigmer execution approve {execution_id}` "
            f"(or `reject {execution_id} --reason …`) from any terminal. Ctrl-C leaves it waiting.",
            err=True,
            fg="yellow",
        )
        decided = await _wait_for_decision(app, execution_id)
        if decided.status.phase != ExecutionPhase.PENDING:
            return decided


def where_runs(app: App) -> str:
    """Where runs go on when they do not run in this process."""
    if app.config.backend == "cloud":
        return f"the server at {app.config.server}"
    return app.engine.describe()


class _StopFollowing(Exception):
    def __init__(self, execution: AgentExecution) -> None:
        super().__init__(execution.metadata.id)
        self.execution = execution


def _follow_remote(
    app: App, execution_id: str, printer: LivePrinter | None, wait: bool, after_sequence: int
) -> AgentExecution:
    """Follow an execution that the server's worker (or Temporal) runs, printing what a local
    run prints."""
    from stigmer.api.backend.v1.backend_pb2 import ExecutionEvent
    from stigmer.backend.wire import unpack_execution
    from stigmer.cli.follow import follow
    from stigmer.runners.agent.events import StepEvents

    step_events = StepEvents()
    seen: list[AgentExecution] = []

    def on_event(event: ExecutionEvent) -> None:
        if event.HasField("step"):
            if printer:
                for run_event in step_events(event.step):
                    printer(run_event)
            return
        execution = unpack_execution(event.execution)
        assert isinstance(execution, AgentExecution)
        previous = seen[-1].status.phase if seen else None
        seen.append(execution)
        if execution.status.phase != ExecutionPhase.WAITING_APPROVAL or previous == execution.status.phase:
            return
        if printer:
            printer.newline()
        pending = execution.status.pending_approval.name
        if not wait:
            click.secho(
                f"Waiting for approval of {pending}. Decide with `stigmer execution approve {execution_id}` "
                f"or `stigmer execution reject {execution_id}`; the run continues then "
                f"(on {where_runs(app)}).",
                err=True,
                fg="yellow",
            )
            raise _StopFollowing(execution)
        click.secho(
            f"Waiting for approval of {pending}: run `stigmer execution approve {execution_id}` "
            f"(or `reject {execution_id} --reason …`) from any terminal. Ctrl-C leaves it waiting.",
            err=True,
            fg="yellow",
        )

    try:
        follow(
            app.backend,
            execution_id,
            on_event,
            after_sequence=after_sequence,
            where=where_runs(app),
        )
    except _StopFollowing as stop:
        return stop.execution
    if printer:
        printer.newline()
    final = app.backend.get_execution(execution_id)
    assert isinstance(final, AgentExecution)
    return final


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
        if remote:
            app.hand_over(execution_id)
            done = _follow_remote(app, execution_id, printer, wait_for_approval, after_sequence)
        else:
            done = asyncio.run(_foreground(app, execution_id, printer, wait_for_approval))
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
