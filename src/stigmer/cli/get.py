"""`stigmer get` and `stigmer delete`, for every kind; the agent and workflow groups reuse them."""

from __future__ import annotations

import click

from stigmer.cli.context import App, echo_result, output_option, parse_pairs, pass_app, result_output_option

EXECUTION_WORDS = ("execution", "executions", "exec")
KIND_HELP = (
    "KIND is agent, agentinstance, workflow, workflowinstance, session, skill, mcpserver, "
    "environment or execution (singular or plural; short forms ag, wf, mcp, env)."
)


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
    echo_resources(items, fmt, kind=info.kind, empty=f"No {info.plural} found.")


def show_resource(app: App, kind: str, name: str, fmt: str) -> None:
    """Print one resource."""
    from stigmer.cli.output import echo_resources
    from stigmer.resources.kinds import kind_info

    info = kind_info(kind)
    echo_resources([app.backend.get(info.message, name)], fmt, single=True)


def delete_resource(app: App, kind: str, name: str) -> None:
    """Delete one resource and say so."""
    from stigmer.resources.kinds import kind_info

    info = kind_info(kind)
    deleted = app.backend.delete(info.message, name)
    echo_result(app, f"{info.kind.lower()}/{deleted.metadata.name} deleted", deleted)


@click.command(epilog=KIND_HELP)
@click.argument("kind")
@click.argument("name", required=False)
@click.option(
    "-l", "--selector", multiple=True, metavar="KEY=VALUE", help="Only resources with this label. Repeatable."
)
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many.")
@output_option
@pass_app
def get(
    app: App, kind: str, name: str | None, selector: tuple[str, ...], limit: int | None, output: str | None
) -> None:
    """Show resources of a KIND, or the one called NAME.

    \b
    Examples:
      stigmer get agents
      stigmer get agent support-bot -o yaml
      stigmer get workflows -l team=cs -o json
    """
    fmt = app.output(output)
    labels = parse_pairs(selector, option="--selector")
    if kind.lower() in EXECUTION_WORDS:
        from stigmer.cli.execution import list_executions, show_execution

        if name:
            show_execution(app, name, fmt)
        else:
            list_executions(app, kind="", phase="", labels=labels, limit=limit or 50, fmt=fmt)
        return
    if name:
        show_resource(app, kind, name, fmt)
    else:
        list_resources(app, kind, labels=labels, limit=limit, fmt=fmt)


@click.command(epilog=KIND_HELP)
@click.argument("kind")
@click.argument("name")
@result_output_option
@pass_app
def delete(app: App, kind: str, name: str) -> None:
    """Delete the KIND resource called NAME (its history is kept).

    Deleting an agent or workflow also deletes its default instance.
    """
    delete_resource(app, kind, name)
