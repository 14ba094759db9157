"""`stigmer worker`: the daemon that runs queued executions."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from stigmer.cli.context import App, engine_options, pass_app

if TYPE_CHECKING:
    from stigmer.engine.engines import Engine
    from stigmer.resources.kinds import Execution


@click.command()
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Runs at once (local engine, default 2), or activities at once (temporal, default 100).",
)
@click.option(
    "--database",
    default=None,
    metavar="FILE|URL",
    help="The store whose runs to run: a SQLite file, or a postgresql:// URL shared with servers and "
    "other workers (default: $STIGMER_DATABASE_URL, `database:` in config.yaml, else the home's local.db).",
)
@engine_options
@pass_app
def worker(
    app: App,
    concurrency: int | None,
    database: str | None,
    engine: str | None,
    temporal_address: str,
    temporal_dev: str | None,
) -> None:
    """Run queued executions (from `--detach`, approvals, crashed runs) until Ctrl-C.

    Several workers may share one home: each execution is claimed with a lease, and a
    worker that dies leaves a lease that expires, after which another one continues it.

    With `--engine temporal` (or `engine: temporal` in config.yaml), executions run on
    Temporal: start as many workers as you like, on as many machines (each with the same
    store: the same home, or `stigmer login` to the same server); Temporal spreads the work
    and gives the work of a worker that dies to the others. Each worker also hands the
    store's queued runs to Temporal.

    Logged in to a server, or on a PostgreSQL store, the worker follows the `server:` policy of
    this home's config.yaml (python modules, stdio commands, private addresses): strict unless
    it allows them, as on the server.

    With `retention: 30d` in config.yaml (or STIGMER_RETENTION=30d), the worker also deletes
    finished runs older than that, at start and then hourly (see `stigmer execution prune`).

    On a PostgreSQL store (`--database postgresql://…`), workers on any number of machines
    share it with the servers: each needs the home's master key (docs/deploy.md).

    \b
    Examples:
      stigmer worker
      stigmer worker --database postgresql://stigmer@db.internal/stigmer
      stigmer worker --engine temporal --temporal-address temporal.internal:7233
      stigmer worker --temporal dev      # a local trial: Temporal's dev server, started here
    """
    import signal

    from stigmer.config import retention_seconds

    if database:
        from stigmer.config import DATABASE_URL_VARIABLE

        # Before anything opens the backend; the option wins over the environment.
        app.config.database = database
        os.environ.pop(DATABASE_URL_VARIABLE, None)
    retention = retention_seconds(app.config)  # a bad setting stops the worker before it starts
    rules = None
    from stigmer.config import database_of, is_database_url

    if app.config.backend == "cloud" or is_database_url(database_of(app.config)):
        from stigmer.policy import ExecutionPolicy

        # A worker of a server (or of the PostgreSQL database servers share) runs what that
        # server's users apply: it follows the same policy (this home's `server:` settings,
        # strict by default), not the open local one.
        rules = ExecutionPolicy.for_server(app.config.server_settings)

    async def main(chosen: Engine) -> None:
        from stigmer.backend.factory import open_backend
        from stigmer.host import Host, HostOptions

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        from stigmer.config import redacted

        where = app.config.server if app.config.backend == "cloud" else redacted(database_of(app.config))
        if chosen.runs_here:
            click.echo(f"worker {os.getpid()}: waiting for executions in {where}", err=True)
        else:
            click.echo(f"worker {os.getpid()}: running executions from {chosen.describe()}", err=True)
            click.echo(f"  handing the queued runs of {where} to it", err=True)
        default = 2 if chosen.runs_here else 100
        # The engine serves on this loop, with the CLI's backend; the host runs what goes beside it.
        from stigmer.runners.settings import run_settings

        telemetry = run_settings(app.config).telemetry
        host = Host(
            HostOptions(retention_seconds=retention or 0, policy=rules, telemetry=telemetry),
            open_backend=lambda: open_backend(app.config),
            say=lambda text: click.echo(text, err=True),
        )
        await host.run(
            stop,
            foreground=lambda: chosen.serve(
                app.backend, stop, concurrency=concurrency or default, on_done=_report
            ),
        )
        click.echo("worker stopped", err=True)

    with chosen_engine(app, engine, temporal_address, temporal_dev) as chosen:
        asyncio.run(main(chosen))


def _report(execution: Execution) -> None:
    from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
    from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
    from stigmer.cli.runs import summary

    if isinstance(execution, AgentExecution):
        colour = "green" if execution.status.phase == ExecutionPhase.COMPLETED else "yellow"
        click.secho(summary(execution), fg=colour, err=True)
        return
    status = execution.status
    colour = "green" if status.phase == ExecutionPhase.COMPLETED else "yellow"
    phase = ExecutionPhase.Name(status.phase)
    line = f"{phase} · workflow {execution.spec.workflow} · {execution.metadata.id}"
    if status.error.message:
        line += f" · {status.error.message.splitlines()[0]}"
    click.secho(line, fg=colour, err=True)


@contextlib.contextmanager
def chosen_engine(
    app: App, engine: str | None, temporal_address: str, temporal_dev: str | None
) -> Iterator[Engine]:
    """The engine of `--engine`, `--temporal-address` and `--temporal dev` (the dev server
    runs while the block does)."""
    from stigmer.engine.engines import open_engine

    if not temporal_dev:
        yield open_engine(app.config, engine=engine or "", temporal_address=temporal_address)
        return
    if engine == "local":
        raise click.UsageError(
            "--temporal dev runs executions on Temporal: it does not go with --engine local"
        )
    from stigmer.config import DEFAULT_TEMPORAL_ADDRESS
    from stigmer.engine.temporal.devserver import DevServer

    host, _, port = (temporal_address or DEFAULT_TEMPORAL_ADDRESS).rpartition(":")
    server = DevServer(host=host, port=int(port))
    server.start()
    click.echo(
        f"Temporal dev server on {server.address} (in memory: for a trial). Other workers join with "
        f"`stigmer worker --engine temporal --temporal-address {server.address}`",
        err=True,
    )
    try:
        yield open_engine(app.config, engine="temporal", dev_server=server)
    finally:
        server.stop()
