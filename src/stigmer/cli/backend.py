"""`stigmer backend status`."""

from __future__ import annotations

import click

from stigmer.cli.context import App, output_option, pass_app


@click.group()
def backend() -> None:
    """Show which backend the CLI talks to."""


@backend.command("status")
@output_option
@pass_app
def status(app: App, output: str | None) -> None:
    """Show the backend type, its database, schema version and how many of each kind it holds."""
    from stigmer.cli.output import dump_json, dump_yaml, table
    from stigmer.resources.codec import to_dict

    info = app.backend.info()
    fmt = app.output(output)
    if fmt != "table":
        data = to_dict(info)
        data["counts"] = {k: int(v) for k, v in info.counts.items()}
        click.echo(dump_json(data) if fmt == "json" else dump_yaml([data]).rstrip("\n"))
        return
    click.echo(f"backend:        {info.type}")
    click.echo(f"version:        {info.version}")
    click.echo(f"database:       {info.database}")
    click.echo(f"schema version: {info.schema_version}")
    click.echo("")
    click.echo(table(["KIND", "COUNT"], [[k, str(v)] for k, v in sorted(info.counts.items())]))
