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
@engine_options
@pass_app
def worker(
    app: App, concurrency: int | None, engine: str | None, temporal_address: str, temporal_dev: str | None
) -> None:
    """Run queued executions (from `--detach`, approvals, crashed runs) until Ctrl-C.

    Several workers may share one home: each execution is claimed with a lease, and a
    worker that dies leaves a lease that expires, after which another one continues it.

    With `--engine temporal` (or `engine: temporal` in config.yaml), executions run on
    Temporal: start as many workers as you like, on as many machines (each with the same
    store: the same home, or `stigmer login` to the same server); Temporal spreads the work
    and gives the work of a worker that dies to the others. Each worker also hands the
    store's queued runs to Temporal.

    With `retention: 30d` in config.yaml (or STIGMER_RETENTION=30d), the worker also deletes
    finished runs older than that, at start and then hourly (see `stigmer execution prune`).

    \b
    Examples:
      stigmer worker
      stigmer worker --engine temporal --temporal-address temporal.internal:7233
      stigmer worker --temporal dev      # a local trial: Temporal's dev server, started here
    """
    import signal

    from stigmer.config import retention_seconds

    retention = retention_seconds(app.config)  # a bad setting stops the worker before it starts

    async def main(chosen: Engine) -> None:
        from stigmer.backend.factory import open_backend
        from stigmer.host import Host, HostOptions

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        where = app.config.server if app.config.backend == "cloud" else app.config.database_path
        if chosen.runs_here:
            click.echo(f"worker {os.getpid()}: waiting for executions in {where}", err=True)
        else:
            click.echo(f"worker {os.getpid()}: running executions from {chosen.describe()}", err=True)
            click.echo(f"  handing the queued runs of {where} to it", err=True)
        default = 2 if chosen.runs_here else 100
        # The engine serves on this loop, with the CLI's backend; the host runs what goes beside it.
        host = Host(
            HostOptions(retention_seconds=retention or 0),
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
