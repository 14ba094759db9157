"""`stigmer init` and `stigmer version`."""

from __future__ import annotations

import click

from stigmer.cli.context import App, pass_app


@click.command()
def version() -> None:
    """Print the Stigmer version."""
    from stigmer.version import __version__

    click.echo(f"stigmer {__version__}")


@click.command()
@pass_app
def init(app: App) -> None:
    """Create the Stigmer home, its config.yaml, its database and its master key.

    Safe to run again: existing files are kept and migrated to this version's schema.
    The home is ~/.stigmer unless --home or $STIGMER_HOME says otherwise. The master key,
    which seals every secret, goes to the OS keyring where one is usable, else to
    master.key in the home (mode 0600); STIGMER_KEYRING=0 always uses the file. Back it up:
    without it, no secret of this home can be opened.
    """
    from stigmer.backend.local import LocalBackend
    from stigmer.config import CONFIG_FILE, save_config

    app.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    config_path = app.home / CONFIG_FILE
    created = not config_path.exists()
    # The database first: if it is refused (e.g. written by a newer Stigmer), write nothing.
    info = app.backend.info()
    if created:
        save_config(app.config)
    click.echo(f"home:       {app.home}")
    click.echo(f"config:     {config_path}{' (created)' if created else ''}")
    click.echo(f"database:   {info.database} (schema version {info.schema_version})")
    if isinstance(app.backend, LocalBackend):
        location, made = app.backend.ensure_master_key()
        click.echo(f"master key: {location}{' (created)' if made else ''}")
    click.echo("Next: stigmer apply -f examples/   then   stigmer get agents")
