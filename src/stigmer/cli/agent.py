"""`stigmer agent create|list|get|delete`."""

from __future__ import annotations

import click

from stigmer.cli.context import (
    App,
    output_option,
    parse_pairs,
    pass_app,
    result_output_option,
)
from stigmer.cli.reads import add_read_and_delete


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
@result_output_option
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


@agent.command("execute")
@click.argument("name")
@click.argument("message")
@click.option("--session", default="", metavar="S", help="Continue (or start) the conversation S.")
@click.option("--env", "environment", default="", metavar="E", help="Run with the Environment E.")
@click.option("--model", default="", metavar="M", help="Use this model for this run (provider/name).")
@click.option("--detach", is_flag=True, help="Only queue it; `stigmer worker` runs it. Prints the id.")
@click.option(
    "--no-wait",
    is_flag=True,
    help="If a tool needs approval, exit (code 0) and leave the run waiting instead of waiting here.",
)
@output_option
@pass_app
def execute(
    app: App,
    name: str,
    message: str,
    session: str,
    environment: str,
    model: str,
    detach: bool,
    no_wait: bool,
    output: str | None,
) -> None:
    """Run the agent NAME on MESSAGE and stream its answer.

    The answer streams to stdout; tool calls and results show on stderr, then a summary
    with usage and the execution id. Every step is on record (`stigmer execution get ID`).
    A tool that needs approval pauses the run until someone runs
    `stigmer execution approve ID` (from any terminal). Exit code 1 when the run fails.

    \b
    Examples:
      stigmer agent execute support-bot "Where is order A-1?"
      stigmer agent execute support-bot "And when will it arrive?" --session alice
      stigmer agent execute support-bot "Summarise the week" --detach
    """
    from stigmer.backend.runs import new_agent_execution
    from stigmer.cli.runs import run_foreground

    created = new_agent_execution(
        app.backend,
        name,
        message,
        session=session or None,
        env=environment or None,
        model=model or None,
        via="cli",
    )
    if detach:
        from stigmer.cli.output import echo_queued

        app.hand_over(created.metadata.id)
        echo_queued(app, created, output)
        click.echo(
            f"Queued. A worker runs it: `stigmer worker`; follow it: "
            f"`stigmer execution logs {created.metadata.id} -f`",
            err=True,
        )
        return
    run_foreground(app, created.metadata.id, fmt=app.output(output), wait_for_approval=not no_wait)


add_read_and_delete(agent, "Agent", "agent")
