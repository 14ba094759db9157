"""`stigmer login URL --token KEY` and `stigmer logout`."""

from __future__ import annotations

from pathlib import Path

import click

from stigmer.cli.context import App, pass_app


@click.command()
@click.argument("url")
@click.option(
    "--token", prompt="API key", hide_input=True, help="The API key (`stigmer server keys create` prints it)."
)
@click.option(
    "--ca-cert",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM of the CA that signed the server's TLS certificate, when it is not a public CA.",
)
@click.option("--no-verify", is_flag=True, help="Store the server and key without checking them now.")
@pass_app
def login(app: App, url: str, token: str, ca_cert: str | None, no_verify: bool) -> None:
    """Use the Stigmer server at URL from now on, with the API key --token.

    The server goes to config.yaml (backend: cloud); the key to credentials.yaml in the
    home, readable by you only. Every command then works against the server, unchanged.
    `stigmer backend switch local` goes back to this machine's store; `stigmer logout`
    also forgets the key.

    \b
    URL: grpc://HOST:PORT (plaintext), grpcs://HOST:PORT (TLS); a bare HOST[:PORT] is
    plaintext on this machine (127.0.0.1, localhost) and TLS elsewhere; the port is 7878
    unless given.

    \b
    Example:
      stigmer login grpc://127.0.0.1:7878 --token sk_…
    """
    from stigmer.config import save_config, save_token

    try:
        from stigmer.backend.remote import RemoteBackend, parse_server_url
    except ImportError as exc:
        from stigmer.backend.factory import missing_server_extra

        raise missing_server_extra(exc) from None

    target, tls = parse_server_url(url)
    canonical = f"{'grpcs' if tls else 'grpc'}://{target}"
    ca_path = str(Path(ca_cert).absolute()) if ca_cert else ""
    described = ""
    if not no_verify:
        backend = RemoteBackend(
            canonical, token=token.strip(), ca_cert=Path(ca_path).read_bytes() if ca_path else None
        )
        try:
            info = backend.info()
        finally:
            backend.close()
        described = f" (stigmer {info.version}, key {info.api_key!r})"
    save_token(app.home, canonical, token.strip())
    config = app.config
    config.backend, config.server, config.server_ca_cert = "cloud", canonical, ca_path
    save_config(config)
    click.echo(f"Logged in to {canonical}{described}.")
    click.echo(
        "Commands now use this server; `stigmer backend switch local` goes back to this machine.", err=True
    )


@click.command()
@pass_app
def logout(app: App) -> None:
    """Forget the server's API key and use this machine's store again."""
    from stigmer.config import save_config, save_token

    config = app.config
    server = config.server
    if server:
        save_token(app.home, server, "")
    was_cloud = config.backend == "cloud"
    config.backend, config.server, config.server_ca_cert = "local", "", ""
    if server or was_cloud:
        save_config(config)
        click.echo(
            f"Logged out of {server or 'the server'}; its key is forgotten. Commands use this machine again."
        )
    else:
        click.echo("Not logged in to any server; commands use this machine's store.")


__all__ = ["login", "logout"]
