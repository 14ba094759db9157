"""`stigmer worker`: the daemon that runs queued executions."""

from __future__ import annotations

import click

from stigmer.cli.context import App, pass_app


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
    """
    import asyncio
    import signal

    from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
    from stigmer.cli.runs import summary
    from stigmer.engine.local import Worker

    def report(execution: object) -> None:
        from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution

        if isinstance(execution, AgentExecution):
            colour = "green" if execution.status.phase == ExecutionPhase.COMPLETED else "yellow"
            click.secho(summary(execution), fg=colour, err=True)

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
        await runner.run(stop)
        click.echo("worker stopped", err=True)

    asyncio.run(main())
