"""`stigmer secrets rotate-key`."""

from __future__ import annotations

import click

from stigmer.cli.context import App, echo_result, pass_app, result_output_option


@click.group()
def secrets() -> None:
    """Manage the master key that seals every secret."""


@secrets.command("rotate-key")
@result_output_option
@pass_app
def rotate_key(app: App) -> None:
    """Make a new master key and re-seal every secret with it, in one transaction.

    The old key is kept until the re-sealed secrets are committed, so an interruption
    at any point leaves each secret readable with the old key or the new one; running
    the command again finishes the job. Back up the new key afterwards.
    """
    from stigmer.backend.local import LocalBackend

    count = app.backend.rotate_master_key()
    where = f" in {app.backend.keys.location}" if isinstance(app.backend, LocalBackend) else ""
    text = f"Re-sealed {count} secret{'s' if count != 1 else ''} with a new master key{where}."
    echo_result(app, text, {"resealed": count})
