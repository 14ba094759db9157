"""`stigmer mcpserver login|logout NAME`: sign in to an HTTP MCP server behind OAuth, once."""

from __future__ import annotations

import asyncio
import sys
import time

import click

from stigmer.cli.context import App, pass_app
from stigmer.errors import InvalidArgument


@click.command()
@click.argument("name")
@click.option(
    "--env",
    "env",
    default="",
    help="Environment whose secrets fill spec.oauth (clientSecret, privateKey, identityAssertion).",
)
@click.option(
    "--timeout", default=300.0, show_default=True, help="Seconds to wait for the browser's redirect."
)
@pass_app
def login(app: App, name: str, env: str, timeout: float) -> None:
    """Sign in to the MCP server NAME and keep its OAuth tokens, sealed, in the store.

    Prints the authorization URL (and opens a browser where there is one), then waits for
    the redirect on 127.0.0.1 (a random port). On a machine without a browser, open the URL
    anywhere that can reach this machine's loopback, e.g. through an SSH tunnel. Every run,
    from this CLI or any worker, then uses this sign-in and refreshes its token on its own.
    """
    from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
    from stigmer.mcp.credentials import MemorySignIn
    from stigmer.mcp.oauth import LoopbackSignIn, sign_in
    from stigmer.runners.agent.sign_ins import oauth_settings

    server = app.backend.get(McpServer, name)
    if server.spec.WhichOneof("transport") != "http":
        raise InvalidArgument(
            f"MCP server {name!r} is not reached over HTTP; only HTTP servers sign in with OAuth",
            field="spec.http",
        )
    settings = oauth_settings(server)
    if settings is None:
        raise InvalidArgument(
            f"MCP server {name!r} sends its own Authorization header; it does not sign in with OAuth",
            field="spec.http.headers",
            hint="remove the header to sign in with OAuth instead",
        )
    settings.store = MemorySignIn()
    settings.client_secret = _client_secret(app, settings.client_secret, env, name)
    settings.private_key = _client_secret(app, settings.private_key, env, name)
    if (assertion := settings.identity_assertion) is not None:
        assertion.id_token = _client_secret(app, assertion.id_token, env, name)
        assertion.client_secret = _client_secret(app, assertion.client_secret, env, name)
    with LoopbackSignIn(name, out=sys.stderr, url_out=sys.stdout, timeout_s=timeout) as person:
        creds = asyncio.run(sign_in(server.spec.http.url, settings, person))
    app.backend.save_mcp_sign_in(server.metadata.name, creds.to_json())
    click.echo(
        f"Signed in to MCP server {server.metadata.name!r}{_lifetime(creds.expires_at, creds.refreshable)}.",
        err=True,
    )


@click.command()
@click.argument("name")
@pass_app
def logout(app: App, name: str) -> None:
    """Forget the OAuth tokens of the MCP server NAME (runs then need a new login)."""
    if app.backend.delete_mcp_sign_in(name):
        click.echo(f"Signed out of MCP server {name!r}.", err=True)
    else:
        click.echo(f"MCP server {name!r} was not signed in.", err=True)


def _client_secret(app: App, value: str, env: str, server: str) -> str:
    from stigmer.secrets.references import REFERENCE

    match = REFERENCE.fullmatch(value.strip()) if value else None
    if match is None:
        return value
    if not env:
        raise InvalidArgument(
            f"MCP server {server!r} takes its OAuth secrets from {value}; name the Environment that holds it",
            field="spec.oauth",
            hint=f"stigmer mcpserver login {server} --env ENV",
        )
    kind, key = match.groups()
    if kind == "secrets":
        return app.backend.reveal_secret(env, key)
    from stigmer.api.environment.v1.environment_pb2 import Environment

    return app.backend.get(Environment, env).spec.variables[key]


def _lifetime(expires_at: float | None, refreshable: bool) -> str:
    renew = "; runs refresh it on their own" if refreshable else ""
    if expires_at is None:
        return renew
    minutes = max(0, int((expires_at - time.time()) // 60))
    return f"; the token expires in {minutes} min{renew}"


def offer_sign_in() -> None:
    """Let this process's runs sign in to MCP servers that ask (a new sign-in, or more scope)
    when a person is here: a terminal, or a browser to open. Elsewhere such a run fails,
    naming `stigmer mcpserver login`."""
    import os

    from stigmer.mcp.credentials import INTERACTIVE

    if sys.stderr.isatty() or os.environ.get("BROWSER"):
        INTERACTIVE.set(_loopback)


def _loopback(server: str) -> object:
    from stigmer.mcp.oauth import LoopbackSignIn

    return LoopbackSignIn(server)


__all__ = ["login", "logout", "offer_sign_in"]
