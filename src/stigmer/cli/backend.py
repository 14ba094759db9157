"""`stigmer backend status` and `stigmer backend switch local|cloud`."""

from __future__ import annotations

import sys
from typing import Any

import click

from stigmer.cli.context import App, output_option, pass_app


@click.group()
def backend() -> None:
    """Show which backend the CLI talks to, or switch between this machine and a server."""


def _print_info(info: Any) -> None:
    from stigmer.cli.output import table

    if info.store:  # a server older than the field says nothing of it
        click.echo(f"store:          {info.store}")
    click.echo(f"database:       {info.database}")
    click.echo(f"schema version: {info.schema_version}")
    click.echo("")
    click.echo(table(["KIND", "COUNT"], [[k, str(v)] for k, v in sorted(info.counts.items())]))


def _info_dict(info: Any) -> dict[str, Any]:
    from stigmer.resources.codec import to_dict

    data = to_dict(info)
    data["counts"] = {k: int(v) for k, v in info.counts.items()}
    return data


def _echo(data: dict[str, Any], fmt: str) -> None:
    from stigmer.cli.output import dump_json, dump_yaml

    click.echo(dump_json(data) if fmt == "json" else dump_yaml([data]).rstrip("\n"))


def _remote_status(app: App, fmt: str) -> None:
    """The server, its version and whether the key works; exit code 1 when either fails."""
    from stigmer.backend.remote import RemoteBackend
    from stigmer.errors import StigmerError, Unauthenticated

    remote = app.backend
    assert isinstance(remote, RemoteBackend)
    report: dict[str, Any] = {"backend": "cloud", "server": app.config.server}
    info = None
    try:
        report["health"] = remote.health()
        info = remote.info()
        report["key"] = "works"
    except Unauthenticated as exc:
        report["key"], report["error"] = "refused", f"{exc}"
        report["hint"] = exc.hint
    except StigmerError as exc:
        report["health"] = report.get("health", "unreachable")
        report["error"], report["hint"] = f"{exc}", exc.hint
    if fmt != "table":
        _echo({**report, **(_info_dict(info) if info else {})}, fmt)
    else:
        click.echo("backend:        cloud")
        click.echo(f"server:         {app.config.server} ({report.get('health', 'unreachable').lower()})")
        if info is not None:
            click.echo(f"server version: {info.version}")
            click.echo(f"api key:        works ({info.api_key})")
            _print_info(info)
        else:
            if "key" in report:
                click.echo(f"api key:        {report['key']}")
            click.secho(f"Error: {report['error']}", err=True, fg="red")
            if report.get("hint"):
                click.echo(f"Hint: {report['hint']}", err=True)
    if info is None:
        sys.exit(1)


@backend.command("status")
@output_option
@pass_app
def status(app: App, output: str | None) -> None:
    """Show the backend: this machine's database, or the server, its version and whether the key works.

    Then its schema version and how many of each kind it holds. Exit code 1 when the
    server cannot be reached or refuses the key.
    """
    fmt = app.output(output)
    if app.config.backend == "cloud":
        _remote_status(app, fmt)
        return
    info = app.backend.info()
    if fmt != "table":
        _echo(_info_dict(info), fmt)
        return
    click.echo(f"backend:        {info.type}")
    click.echo(f"version:        {info.version}")
    _print_info(info)


@backend.command("switch")
@click.argument("target", type=click.Choice(["local", "cloud"]))
@pass_app
def switch(app: App, target: str) -> None:
    """Use this machine's store (local) or the server of `stigmer login` (cloud).

    Switching keeps the server and its key, so switching back needs no new login.
    """
    from stigmer.config import load_token, save_config
    from stigmer.errors import InvalidArgument

    config = app.config
    if target == "cloud" and not config.server:
        raise InvalidArgument(
            "no server to switch to", hint="log in to one first: `stigmer login URL --token KEY`"
        )
    config.backend = target
    save_config(config)
    if target == "cloud":
        click.echo(f"backend: cloud ({config.server})")
        if not load_token(app.home, config.server):
            click.secho("No API key is stored for it: `stigmer login URL --token KEY`", err=True, fg="yellow")
    else:
        from stigmer.config import database_of, redacted

        click.echo(f"backend: local ({redacted(database_of(config))})")
