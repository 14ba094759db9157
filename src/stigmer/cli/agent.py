"""`stigmer agent create|list|get|delete`."""

from __future__ import annotations

import click

from stigmer.cli.context import App, output_option, parse_pairs, pass_app


@click.group()
def agent() -> None:
    """Create, list, show and delete agents.

    For anything beyond these options, write an Agent file and `stigmer apply -f` it.
    """


@agent.command("create")
@click.argument("name")
@click.option("--instructions", required=True, help="What the agent is for and how it behaves.")
@click.option("--model", help="provider/name, e.g. anthropic/claude-sonnet-4-5, local/smollm2, scripted.")
@click.option(
    "--mcp-server",
    "mcp_servers",
    multiple=True,
    metavar="NAME",
    help="An McpServer resource to use. Repeatable.",
)
@click.option(
    "--skill", "skills", multiple=True, metavar="NAME", help="A Skill resource to load. Repeatable."
)
@click.option("--description", default="", help="One line shown in listings and to parent agents.")
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label. Repeatable.")
@pass_app
def create(
    app: App,
    name: str,
    instructions: str,
    model: str | None,
    mcp_servers: tuple[str, ...],
    skills: tuple[str, ...],
    description: str,
    labels: tuple[str, ...],
) -> None:
    """Create the agent NAME.

    \b
    Example:
      stigmer agent create support-bot --instructions "Answer customer questions." \\
        --model scripted --mcp-server helpdesk --skill refund-policy
    """
    from stigmer.cli.definitions import build
    from stigmer.cli.definitions import create as create_resource

    spec: dict[str, object] = {
        "instructions": instructions,
        "mcpServers": list(mcp_servers),
        "skills": list(skills),
    }
    if model:
        spec["model"] = model
    if description:
        spec["description"] = description
    create_resource(app, build("Agent", name, spec, labels=parse_pairs(labels, option="--label")))


@agent.command("list")
@click.option("-l", "--selector", multiple=True, metavar="KEY=VALUE", help="Only agents with this label.")
@output_option
@pass_app
def list_(app: App, selector: tuple[str, ...], output: str | None) -> None:
    """List agents."""
    from stigmer.cli.get import list_resources

    list_resources(
        app, "Agent", labels=parse_pairs(selector, option="--selector"), limit=None, fmt=app.output(output)
    )


@agent.command("get")
@click.argument("name")
@output_option
@pass_app
def get(app: App, name: str, output: str | None) -> None:
    """Show the agent NAME."""
    from stigmer.cli.get import show_resource

    show_resource(app, "Agent", name, app.output(output))


@agent.command("delete")
@click.argument("name")
@pass_app
def delete(app: App, name: str) -> None:
    """Delete the agent NAME and its default instance."""
    from stigmer.cli.get import delete_resource

    delete_resource(app, "Agent", name)
