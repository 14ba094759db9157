"""`stigmer mcpserver …`: look at MCP servers as they are now, not only as configured."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import click

from stigmer.cli.context import App, output_option, pass_app
from stigmer.cli.mcp_sign_in import login, logout

if TYPE_CHECKING:
    from stigmer.backend.protocol import Backend
    from stigmer.mcp.inventory import ServerInventory
    from stigmer.runners.agent.environment import RunEnvironment

DESCRIPTION_WIDTH = 60


@click.group()
def mcpserver() -> None:
    """Inspect McpServer resources (the tools a server offers right now) and sign in to those
    behind OAuth."""


@mcpserver.command("tools")
@click.argument("name")
@click.option("--env", "environment", default="", help="Environment whose variables and secrets fill ${…}.")
@output_option
@pass_app
def tools(app: App, name: str, environment: str, output: str | None) -> None:
    """Start (or reach) the MCP server NAME and list its live tools.

    Each tool shows its description, whether it is enabled (enabledTools), whether a
    person must approve its calls (approvalRequired) and whether agents are offered it,
    with the reason when they are not. -o json|yaml adds each tool's input schema.
    Names in enabledTools or approvalRequired that the server does not list are reported.
    The server runs on this machine, with the ${env.…} and ${secrets.…} of --env filled in.
    """
    from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
    from stigmer.mcp.inventory import inventory
    from stigmer.runners.agent.sign_ins import attach_sign_ins
    from stigmer.runners.agent.tools import mcp_server_spec

    backend = app.backend
    server = backend.get(McpServer, name)
    env = _environment(backend, environment, server)
    spec = env.servers([mcp_server_spec(server)])[0]
    attach_sign_ins([spec], env, backend, "", "")  # behind OAuth: the stored sign-in
    listing = asyncio.run(inventory(spec))
    # Tool descriptions are the server's text; a secret it echoes stays hidden.
    data = env.redact(listing.to_dict())
    fmt = app.output(output)
    if fmt in ("json", "yaml"):
        from stigmer.cli.output import dump_json, dump_yaml

        click.echo(dump_json(data) if fmt == "json" else dump_yaml([data]).rstrip("\n"))
    else:
        click.echo(_table(listing))
    for key, names in listing.unknown.items():
        click.echo(
            f"warning: {key} of {name!r} names {', '.join(names)}, which the server does not list",
            err=True,
        )


def _environment(backend: Backend, name: str, server: Any) -> RunEnvironment:
    from stigmer.api.environment.v1.environment_pb2 import Environment
    from stigmer.resources.codec import to_dict
    from stigmer.runners.agent.environment import RunEnvironment
    from stigmer.secrets.redaction import Redactor
    from stigmer.secrets.references import secret_names

    if not name:
        return RunEnvironment()
    env = backend.get(Environment, name)
    # Only the secrets the server's spec refers to are revealed, and only to this process.
    wanted = secret_names(to_dict(server.spec)) & set(env.spec.secrets)
    secrets = {key: backend.reveal_secret(name, key) for key in sorted(wanted)}
    return RunEnvironment(name, dict(env.spec.variables), secrets, Redactor(secrets.values()))


def _table(listing: ServerInventory) -> str:
    from stigmer.cli.output import table

    rows = []
    for tool in listing.tools:
        description = " ".join(tool.description.split())
        if len(description) > DESCRIPTION_WIDTH:
            description = description[: DESCRIPTION_WIDTH - 1] + "…"
        rows.append(
            [
                tool.name,
                "yes" if tool.enabled else "no",
                "yes" if tool.needs_approval else "no",
                "yes" if tool.offered else f"no: {tool.reason}",
                description,
            ]
        )
    return table(["TOOL", "ENABLED", "APPROVAL", "OFFERED", "DESCRIPTION"], rows)


mcpserver.add_command(login)
mcpserver.add_command(logout)

__all__ = ["mcpserver"]
