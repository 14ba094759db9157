"""`stigmer worker`: the daemon that runs queued executions."""

from __future__ import annotations

import asyncio
import contextlib

import click

from stigmer.cli.context import App, pass_app

# How often a worker with a retention setting prunes old runs.
PRUNE_EVERY_SECONDS = 3600.0


def prune_once(app: App, older_than: int) -> None:
    """Prune finished runs older than ``older_than`` seconds, reporting what went on stderr.

    Runs on a thread of its own with a backend of its own, so the worker's runs go on meanwhile
    (the prune takes the store's write lock one short batch at a time).
    """
    from stigmer.backend.factory import open_backend

    try:
        backend = open_backend(app.config)
        try:
            result = backend.prune_executions(older_than)
        finally:
            backend.close()
    except Exception as exc:  # the worker goes on running, and tries again at the next hour
        click.echo(f"retention: pruning failed (the worker tries again in an hour): {exc}", err=True)
        return
    total = sum(result.deleted.values())
    if total or result.kept:
        kept = f"; kept {result.kept} whose child runs have not all finished" if result.kept else ""
        click.echo(
            f"retention: pruned {total} execution{'' if total == 1 else 's'} that finished before "
            f"{result.cutoff.ToJsonString()}{kept}",
            err=True,
        )


async def prune_periodically(
    app: App, older_than: int, stop: asyncio.Event, *, every: float = PRUNE_EVERY_SECONDS
) -> None:
    """Prune at once, then every ``every`` seconds, until ``stop`` is set."""
    while not stop.is_set():
        await asyncio.to_thread(prune_once, app, older_than)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


@click.command()
@click.option("--concurrency", type=click.IntRange(min=1), default=2, show_default=True, help="Runs at once.")
@click.option(
    "--engine", type=click.Choice(["local"]), default="local", show_default=True, help="Which engine."
)
@pass_app
def worker(app: App, concurrency: int, engine: str) -> None:
    """Run queued executions (from `--detach`, approvals, crashed runs) until Ctrl-C.

    Several workers may share one home: each execution is claimed with a lease, and a
    worker that dies leaves a lease that expires, after which another one continues it.

    With `retention: 30d` in config.yaml (or STIGMER_RETENTION=30d), the worker also deletes
    finished runs older than that, at start and then hourly (see `stigmer execution prune`).
    """
    import signal

    from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
    from stigmer.cli.runs import summary
    from stigmer.config import retention_seconds
    from stigmer.engine.local import Worker

    retention = retention_seconds(app.config)  # a bad setting stops the worker before it starts

    def report(execution: object) -> None:
        from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
        from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution

        if isinstance(execution, AgentExecution):
            colour = "green" if execution.status.phase == ExecutionPhase.COMPLETED else "yellow"
            click.secho(summary(execution), fg=colour, err=True)
        elif isinstance(execution, WorkflowExecution):
            status = execution.status
            colour = "green" if status.phase == ExecutionPhase.COMPLETED else "yellow"
            phase = ExecutionPhase.Name(status.phase)
            line = f"{phase} · workflow {execution.spec.workflow} · {execution.metadata.id}"
            if status.error.message:
                line += f" · {status.error.message.splitlines()[0]}"
            click.secho(line, fg=colour, err=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner = Worker(
            app.backend,
            concurrency=concurrency,
            config_model=str(app.config.extra.get("model", "")),
            on_done=report,
        )
        where = app.config.server if app.config.backend == "cloud" else app.config.database_path
        click.echo(f"worker {runner.worker_id}: waiting for executions in {where}", err=True)
        pruning = asyncio.create_task(prune_periodically(app, retention, stop)) if retention else None
        await runner.run(stop)
        if pruning is not None:
            await pruning  # stop is set: it ends after the prune under way, if any
        click.echo("worker stopped", err=True)

    asyncio.run(main())
