"""Running a workflow execution in the foreground: a live table of its tasks, then its outputs.

Locally the run happens in this process (claimed like any worker would); against a
server, the server's worker runs it and this follows its record. Either way the table is
drawn from the execution's record, so it shows what `stigmer execution get` shows. On a
terminal the table redraws in place (rich); elsewhere each task change is one line.
The outputs go to stdout, everything else to stderr.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import TaskState, WorkflowExecution
from stigmer.cli.context import App

if TYPE_CHECKING:
    from rich.table import Table

    from stigmer.api.workflow.v1.workflow_pb2 import Workflow

REFRESH_SECONDS = 0.25
FINISHED = (ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED)
COLOURS = {
    "COMPLETED": "green",
    "FAILED": "red",
    "CANCELLED": "red",
    "RUNNING": "cyan",
    "WAITING_APPROVAL": "yellow",
    "SKIPPED": "dim",
    "PENDING": "dim",
}


def _seconds(state: TaskState, now: datetime) -> str:
    if not state.HasField("start_time"):
        return ""
    start = state.start_time.ToDatetime(UTC)
    end = state.end_time.ToDatetime(UTC) if state.HasField("end_time") else now
    return f"{max((end - start).total_seconds(), 0):.1f}s"


def rows(workflow: Workflow | None, execution: WorkflowExecution) -> list[tuple[str, str, str, str, str]]:
    """(task, phase, attempts, duration, note) for every task: declared ones first, in order."""
    states = {t.name: t for t in execution.status.tasks}
    names = [t.name for t in workflow.spec.tasks] if workflow is not None else []
    ordered: list[str] = []
    for name in names:
        ordered.append(name)
        ordered += [key for key in states if key.startswith(name + "[")]
    ordered += [key for key in states if key not in ordered]
    now = datetime.now(UTC)
    out = []
    for name in ordered:
        state = states.get(name)
        if state is None:
            out.append((name, "PENDING", "", "", ""))
            continue
        note = state.error.message.splitlines()[0] if state.error.message else ""
        if not note and state.child_execution_id:
            note = state.child_execution_id
        attempts = str(state.attempts) if state.attempts else ""
        label = f"  {name}" if "[" in name else name
        out.append((label, ExecutionPhase.Name(state.phase), attempts, _seconds(state, now), note[:80]))
    return out


def task_table(workflow: Workflow | None, execution: WorkflowExecution) -> Table:
    """The rich table of a workflow run's tasks."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("TASK", "PHASE", "ATTEMPTS", "DURATION", "NOTE"):
        table.add_column(column)
    for name, phase, attempts, took, note in rows(workflow, execution):
        colour = COLOURS.get(phase, "")
        table.add_row(name, f"[{colour}]{phase}[/]" if colour else phase, attempts, took, note)
    return table


def workflow_of(app: App, execution: WorkflowExecution) -> Workflow | None:
    """The workflow version a run is pinned to; None when it was deleted since."""
    from stigmer.errors import StigmerError
    from stigmer.runners.workflow.runner import pinned_workflow

    try:
        return pinned_workflow(app.backend, execution)
    except StigmerError:
        return None  # deleted since: the table shows the tasks on record


class _Display:
    """Redraws the task table (terminal) or prints each task change (anything else)."""

    def __init__(self, workflow: Workflow | None) -> None:
        from rich.console import Console

        self.workflow = workflow
        self.console = Console(stderr=True)
        self.live: Any = None
        self.seen: dict[str, str] = {}

    def __enter__(self) -> _Display:
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(console=self.console, refresh_per_second=8, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def show(self, execution: WorkflowExecution) -> None:
        if self.live is not None:
            self.live.update(task_table(self.workflow, execution))
            return
        for name, phase, attempts, took, note in rows(self.workflow, execution):
            if self.seen.get(name) != phase and phase != "PENDING":
                self.seen[name] = phase
                extra = " · ".join(
                    p for p in (took, f"attempt {attempts}" if attempts not in ("", "1") else "", note) if p
                )
                colour = COLOURS.get(phase, "")
                click.secho(
                    f"{name.strip()}: {phase}" + (f" ({extra})" if extra else ""),
                    err=True,
                    fg=None if colour == "dim" else colour or None,
                    dim=colour == "dim",
                )


async def _render(app: App, execution_id: str, display: _Display | _Quiet, wait: bool) -> None:
    """Show what the engine reports of a run (its record, redrawn as its tasks change) until
    it ends, or waits for a person and ``wait`` is off."""
    from stigmer.runners.events import ConnectionLost, PhaseChanged, Reconnected, TaskChanged

    shown = 0.0
    watch = isinstance(display, _Display)  # json and yaml show the end only
    async for event in app.drive(execution_id, wait_for_decision=wait, watch_tasks=watch):
        if isinstance(event, PhaseChanged):
            assert isinstance(event.execution, WorkflowExecution)
            display.show(event.execution)
            shown = time.monotonic()
            waiting = event.execution.status.phase == ExecutionPhase.WAITING_APPROVAL
            if waiting and not _announce_input(app, event.execution, wait):
                _announce_approval(execution_id, wait)
        elif isinstance(event, TaskChanged) and time.monotonic() - shown >= REFRESH_SECONDS:
            # Task changes come in bursts (a fan-out): the table is redrawn at most this often.
            current = app.backend.get_execution(execution_id)
            assert isinstance(current, WorkflowExecution)
            display.show(current)
            shown = time.monotonic()
        elif isinstance(event, ConnectionLost):
            click.secho(f"Lost the connection: {event.message}. Reconnecting…", err=True, fg="yellow")
        elif isinstance(event, Reconnected):
            click.secho("Reconnected; continuing where it left off.", err=True, fg="yellow")


def _announce_input(app: App, execution: WorkflowExecution, wait: bool) -> bool:
    """Tell the user what an MCP server asks during a tool call of an agent task's run, if
    that is what the run waits for (answered through the workflow's id); whether it was."""
    from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
    from stigmer.cli.runs import asked, how_to_answer
    from stigmer.resources.codec import to_dict
    from stigmer.resources.steps import plain
    from stigmer.runners.events import InputNeeded

    for task in execution.status.tasks:
        waits = (ExecutionPhase.RUNNING, ExecutionPhase.WAITING_APPROVAL)  # the row may lag its run
        if task.phase not in waits or not task.child_execution_id:
            continue
        child = app.backend.get_execution(task.child_execution_id)
        if not isinstance(child, AgentExecution) or not child.status.HasField("pending_input"):
            continue
        p = child.status.pending_input
        schema = plain(to_dict(p.requested_schema)) if p.HasField("requested_schema") else {}
        event = InputNeeded(p.kind, p.tool, p.server, p.message, schema, p.url, list(p.fields))
        how = how_to_answer(execution.metadata.id, p.kind, p.url, p.server)
        then = "; the run continues then." if not wait else " from any terminal. Ctrl-C leaves it waiting."
        click.secho(f"Task {task.name} waits for a person: {asked(event)}", err=True, fg="yellow")
        click.secho(
            f"{'Sign in' if p.kind == 'sign-in' else 'Answer'} with {how}{then}", err=True, fg="yellow"
        )
        return True
    return False


def _announce_approval(execution_id: str, wait: bool) -> bool:
    """Tell the user what the run waits for; whether to keep waiting here."""
    if not wait:
        click.secho(
            f"Waiting for approval. Decide with `stigmer execution approve {execution_id}` "
            f"or `stigmer execution reject {execution_id}`; the run continues then.",
            err=True,
            fg="yellow",
        )
        return False
    click.secho(
        f"Waiting for approval: run `stigmer execution approve {execution_id}` "
        f"(or `reject {execution_id} --reason …`) from any terminal. Ctrl-C leaves it waiting.",
        err=True,
        fg="yellow",
    )
    return True


def run_workflow_foreground(app: App, execution_id: str, *, fmt: str, wait_for_approval: bool = True) -> None:
    """Run (or follow) a workflow execution to its end, showing its tasks; exit 1 when it failed."""
    from stigmer.cli.output import dump_yaml, echo_resources

    execution = app.backend.get_execution(execution_id)
    assert isinstance(execution, WorkflowExecution)
    workflow = workflow_of(app, execution)
    started = time.perf_counter()
    here = app.runs_here
    table = fmt == "table"
    try:
        with _Display(workflow) if table else _Quiet() as display:
            asyncio.run(_render(app, execution_id, display, wait_for_approval))
    except KeyboardInterrupt:
        runner = (
            f"the server at {app.config.server}" if app.config.backend == "cloud" else app.engine.describe()
        )
        where = (
            f"`stigmer execution resume {execution_id}` continues it"
            if here
            else f"{runner} runs it: `stigmer execution logs {execution_id} -f` follows it again"
        )
        click.echo(f"\nStopped watching. The execution keeps its state; {where}.", err=True)
        sys.exit(130)
    final = app.backend.get_execution(execution_id)
    assert isinstance(final, WorkflowExecution)
    failed = final.status.phase in (ExecutionPhase.FAILED, ExecutionPhase.CANCELLED)
    if not table:
        echo_resources([final], fmt, single=True)
    else:
        if failed:
            click.secho(f"Error: {final.status.error.message}", err=True, fg="red")
        if final.status.HasField("outputs"):
            from stigmer.resources.codec import to_dict
            from stigmer.resources.steps import plain

            click.echo(dump_yaml([dict(sorted(plain(to_dict(final.status.outputs)).items()))]).rstrip("\n"))
        phase = ExecutionPhase.Name(final.status.phase)
        line = f"— {phase} · {execution_id} · {time.perf_counter() - started:.1f}s"
        if final.status.usage.model_calls:
            from stigmer.cli.output import usage_text

            line += f" · {usage_text(final.status.usage)}"
        click.secho(line, err=True, dim=True)
    if failed:
        sys.exit(1)


class _Quiet:
    """No display (json and yaml output)."""

    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def show(self, execution: WorkflowExecution) -> None:
        pass


__all__ = ["rows", "run_workflow_foreground", "task_table", "workflow_of"]
