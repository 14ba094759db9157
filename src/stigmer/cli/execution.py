"""`stigmer execution list|get|cancel`."""

from __future__ import annotations

import click

from stigmer.cli.context import App, output_option, parse_pairs, pass_app

PHASES = ("pending", "running", "waiting_approval", "completed", "failed", "cancelled")


def list_executions(
    app: App,
    *,
    kind: str,
    phase: str,
    labels: dict[str, str],
    limit: int,
    fmt: str,
    parent: str = "",
    definition: str = "",
) -> None:
    """Print executions, newest first, following pages up to ``limit``."""
    from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
    from stigmer.backend.protocol import ExecutionQuery
    from stigmer.cli.output import echo_resources

    query = ExecutionQuery(
        kind={"agent": "AgentExecution", "workflow": "WorkflowExecution"}.get(kind, ""),
        phase=ExecutionPhase.Value(phase.upper()) if phase else ExecutionPhase.EXECUTION_PHASE_UNSPECIFIED,
        parent_execution_id=parent,
        definition=definition,
        labels=labels,
    )
    items: list = []  # type: ignore[type-arg]
    while True:
        query.page_size = min(500, limit - len(items))
        page = app.backend.list_executions(query)
        items.extend(page.items)
        query.page_token = page.next_page_token
        if not query.page_token or len(items) >= limit:
            break
    echo_resources(items, fmt, kind="AgentExecution", empty="No executions found.")


def show_execution(app: App, execution_id: str, fmt: str) -> None:
    """Print one execution."""
    from stigmer.cli.output import echo_resources

    echo_resources([app.backend.get_execution(execution_id)], fmt, single=True)


@click.group()
def execution() -> None:
    """List, inspect and cancel agent and workflow executions."""


@execution.command("list")
@click.option(
    "--kind", type=click.Choice(["agent", "workflow"]), help="Only agent or only workflow executions."
)
@click.option(
    "--phase", type=click.Choice(PHASES, case_sensitive=False), help="Only executions in this phase."
)
@click.option("--parent", default="", metavar="ID", help="Only executions started by this execution.")
@click.option("--definition", default="", metavar="NAME", help="Only executions of this agent or workflow.")
@click.option("-l", "--selector", multiple=True, metavar="KEY=VALUE", help="Only executions with this label.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Show at most this many."
)
@output_option
@pass_app
def list_(
    app: App,
    kind: str | None,
    phase: str | None,
    parent: str,
    definition: str,
    selector: tuple[str, ...],
    limit: int,
    output: str | None,
) -> None:
    """List executions, newest first."""
    list_executions(
        app,
        kind=kind or "",
        phase=phase or "",
        labels=parse_pairs(selector, option="--selector"),
        limit=limit,
        fmt=app.output(output),
        parent=parent,
        definition=definition,
    )


@execution.command("get")
@click.argument("execution_id", metavar="ID")
@output_option
@pass_app
def get(app: App, execution_id: str, output: str | None) -> None:
    """Show the execution ID (its spec, phase, outputs and errors)."""
    show_execution(app, execution_id, app.output(output))


@execution.command("cancel")
@click.argument("execution_id", metavar="ID")
@pass_app
def cancel(app: App, execution_id: str) -> None:
    """Cancel the execution ID: at once if it is pending, else at its next step."""
    from stigmer.api.common.v1.execution_pb2 import ExecutionPhase

    result = app.backend.cancel_execution(execution_id)
    if result.status.phase == ExecutionPhase.CANCELLED:
        click.echo(f"execution {execution_id} cancelled")
    else:
        click.echo(f"execution {execution_id}: cancellation requested; it stops at its next step")
