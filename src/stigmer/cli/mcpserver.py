"""`stigmer mcpserver …`: MCP servers' own commands (sign-in)."""

from __future__ import annotations

import click

from stigmer.cli.mcp_sign_in import login, logout


@click.group()
def mcpserver() -> None:
    """Sign in to MCP servers behind OAuth, and out again."""


mcpserver.add_command(login)
mcpserver.add_command(logout)

__all__ = ["mcpserver"]
