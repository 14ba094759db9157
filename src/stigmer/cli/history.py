"""`stigmer history` and `stigmer rollback`."""

from __future__ import annotations

import click

from stigmer.cli.context import App, output_option, pass_app
from stigmer.cli.get import KIND_HELP


@click.command(epilog=KIND_HELP)
@click.argument("kind")
@click.argument("name")
@output_option
@pass_app
def history(app: App, kind: str, name: str, output: str | None) -> None:
    """Show every version of a resource, oldest first.

    Each write (create, update, delete, rollback, import) is a version; `-o yaml` shows
    the whole resource as it was. History outlives a deleted resource.
    """
    from stigmer.cli.output import echo_resources
    from stigmer.resources.kinds import kind_info

    info = kind_info(kind)
    versions = app.backend.history(info.message, name)
    echo_resources(versions, app.output(output), kind="ApiResourceVersion")


@click.command(epilog=KIND_HELP)
@click.argument("kind")
@click.argument("name")
@click.option("--to", "to_version", type=click.IntRange(min=1), required=True, help="The version to restore.")
@pass_app
def rollback(app: App, kind: str, name: str, to_version: int) -> None:
    """Make an old version of a resource current again.

    The rollback is itself a new version, so it can be rolled back too.
    """
    from stigmer.resources.kinds import kind_info

    info = kind_info(kind)
    restored = app.backend.rollback(info.message, name, to_version)
    click.echo(
        f"{info.kind.lower()}/{restored.metadata.name} rolled back to version {to_version} "
        f"(now version {restored.metadata.version})"
    )
