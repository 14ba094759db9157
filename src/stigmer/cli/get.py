"""`stigmer get` and `stigmer delete`, for every kind; the agent and workflow groups reuse them."""

from __future__ import annotations

import click

from stigmer.cli.context import App, output_option, parse_pairs, pass_app, result_output_option
from stigmer.cli.reads import delete_resource, list_executions, list_resources, show_execution, show_resource

EXECUTION_WORDS = ("execution", "executions", "exec")
KIND_HELP = (
    "KIND is agent, agentinstance, workflow, workflowinstance, session, skill, mcpserver, "
    "environment, schedule, webhook or execution (singular or plural; short forms ag, wf, mcp, env)."
)


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
