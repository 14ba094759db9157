"""Reading and deleting resources and executions for the terminal: what `stigmer get`,
`stigmer delete`, `stigmer execution list|get` and each kind's `list|get|delete` share.

Below the command modules (it imports none of them), so they all build on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from stigmer.cli.context import App, echo_result, output_option, parse_pairs, pass_app, result_output_option

if TYPE_CHECKING:
    from stigmer.resources.kinds import Execution


def list_resources(app: App, kind: str, *, labels: dict[str, str], limit: int | None, fmt: str) -> None:
    """Print every resource of a kind (or up to ``limit``), following pages."""
    from stigmer.cli.output import echo_resources
    from stigmer.resources.kinds import kind_info

    info = kind_info(kind)
    items: list = []  # type: ignore[type-arg]
    token = ""
    while True:
        page_size = min(500, limit - len(items)) if limit else 500
        page = app.backend.list(info.message, labels=labels, page_size=page_size, page_token=token)
        items.extend(page.items)
        token = page.next_page_token
        if not token or (limit and len(items) >= limit):
            break
    if info.kind == "Schedule":
        items = schedule_views(app, items)
    echo_resources(items, fmt, kind=info.kind, empty=f"No {info.plural} found.")


def show_resource(app: App, kind: str, name: str, fmt: str) -> None:
    """Print one resource."""
    from stigmer.cli.output import echo_resources
    from stigmer.resources.kinds import kind_info

    info = kind_info(kind)
    found = [app.backend.get(info.message, name)]
    echo_resources(schedule_views(app, found) if info.kind == "Schedule" else found, fmt, single=True)


def schedule_views(app: App, schedules: list) -> list:  # type: ignore[type-arg]
    """Schedules with their next fire times and last run filled in (computed on read)."""
    from stigmer.clock import utcnow
    from stigmer.triggers.schedules import with_status

    now = utcnow()
    return [with_status(app.backend, s, now) for s in schedules]


def delete_resource(app: App, kind: str, name: str) -> None:
    """Delete one resource and say so."""
    from stigmer.resources.kinds import kind_info

    info = kind_info(kind)
    deleted = app.backend.delete(info.message, name)
    echo_result(app, f"{info.kind.lower()}/{deleted.metadata.name} deleted", deleted)


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
    from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
    from stigmer.cli.output import echo_resources

    found = app.backend.get_execution(execution_id)
    echo_resources([found], fmt, single=True)
    if fmt == "table" and isinstance(found, WorkflowExecution):
        from rich.console import Console

        from stigmer.cli.workflow_runs import task_table, workflow_of

        click.echo()
        Console(soft_wrap=True).print(task_table(workflow_of(app, found), found))
        if found.status.error.message:
            click.echo(f"\nError: {found.status.error.message}")
    if fmt == "table" and found.status.usage.model_calls:
        from stigmer.cli.output import usage_text

        click.echo(f"\nUsage: {usage_text(found.status.usage)}")
    if fmt == "table":
        _show_pending_input(found)
    if fmt == "table":
        from stigmer.resources.provenance import describe

        started_by = describe(found.spec.trigger)
        click.echo(f"\nStarted by: {started_by or 'its parent run ' + found.spec.parent_execution_id}")


def _show_pending_input(found: Execution) -> None:
    """What an MCP server asks a person during a tool call of an agent run, and how to answer."""
    from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution

    if not isinstance(found, AgentExecution) or not found.status.HasField("pending_input"):
        return
    from stigmer.cli.runs import asked, how_to_answer
    from stigmer.resources.codec import to_dict
    from stigmer.resources.steps import plain
    from stigmer.runners.events import InputNeeded

    p = found.status.pending_input
    schema = plain(to_dict(p.requested_schema)) if p.HasField("requested_schema") else {}
    event = InputNeeded(p.kind, p.tool, p.server, p.message, schema, p.url, list(p.fields))
    click.echo(f"\nWaiting for a person: {asked(event)}")
    verb = "Sign in with" if p.kind == "sign-in" else "Answer with"
    click.echo(f"{verb} {how_to_answer(found.metadata.id, p.kind, p.url, p.server)}.")


def add_read_and_delete(group: click.Group, kind: str, noun: str) -> None:
    """Give a kind's command group its `list`, `get NAME` and `delete NAME` subcommands."""

    @group.command("list")
    @click.option(
        "-l", "--selector", multiple=True, metavar="KEY=VALUE", help=f"Only {noun}s with this label."
    )
    @output_option
    @pass_app
    def list_(app: App, selector: tuple[str, ...], output: str | None) -> None:
        labels = parse_pairs(selector, option="--selector")
        list_resources(app, kind, labels=labels, limit=None, fmt=app.output(output))

    @group.command("get")
    @click.argument("name")
    @output_option
    @pass_app
    def get(app: App, name: str, output: str | None) -> None:
        show_resource(app, kind, name, app.output(output))

    @group.command("delete")
    @click.argument("name")
    @result_output_option
    @pass_app
    def delete(app: App, name: str) -> None:
        delete_resource(app, kind, name)

    list_.help = f"List {noun}s."
    get.help = f"Show the {noun} NAME."
    delete.help = f"Delete the {noun} NAME and its default instance."


__all__ = [
    "add_read_and_delete",
    "delete_resource",
    "list_executions",
    "list_resources",
    "show_execution",
    "show_resource",
]
