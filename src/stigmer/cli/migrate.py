"""`stigmer migrate`: move a home's store to PostgreSQL (or back to a SQLite file)."""

from __future__ import annotations

import click

from stigmer.cli.context import App, echo_result, pass_app, result_output_option


@click.command()
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL|FILE",
    help="Where to copy the store: an empty PostgreSQL database (postgresql://USER:PASSWORD@HOST:PORT/DB) "
    "or a new SQLite file.",
)
@click.option(
    "--from",
    "source",
    default=None,
    metavar="URL|FILE",
    help="The store to copy (default: this home's: $STIGMER_DATABASE_URL, `database:` in config.yaml, "
    "else local.db).",
)
@result_output_option
@pass_app
def migrate(app: App, target: str, source: str | None) -> None:
    """Copy this home's store into an empty database: every resource with its history, every
    execution with its steps and artifacts, API keys, MCP sign-ins and trigger fires.

    Secrets stay sealed with this home's master key: give that key to every server and
    worker of the new store (docs/deploy.md). Stop the servers and workers of the old store
    first: what they write after the copy started is not copied. A target that holds
    anything is refused, and nothing is written. The old store is left as it was.

    \b
    Examples:
      stigmer migrate --to postgresql://stigmer@db.internal/stigmer
      stigmer migrate --from postgresql://stigmer@db.internal/stigmer --to ~/.stigmer/local.db
    Then point the home (or `stigmer server --database`) at the new store:
      database: postgresql://stigmer@db.internal/stigmer      # in config.yaml
    """
    from stigmer.backend.relocate import copy_store
    from stigmer.config import database_of, durability_of, redacted

    origin = source or database_of(app.config)
    copied = copy_store(origin, target, durability=durability_of(app.config))
    summary = f"copied {copied.total} rows from {redacted(origin)} to {redacted(target)}"
    echo_result(app, summary, {"from": redacted(origin), "to": redacted(target), "rows": copied.rows})
    click.echo(
        "Point this home at it with `database: URL|FILE` in config.yaml (or STIGMER_DATABASE_URL), "
        "and servers with --database.",
        err=True,
    )
