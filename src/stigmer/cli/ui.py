"""`stigmer ui`: the web dashboard on 127.0.0.1."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from stigmer.cli.context import App, pass_app

if TYPE_CHECKING:
    from stigmer.host import Host

# stigmer.ui.DEFAULT_UI_PORT, written here so that `stigmer ui --help` imports nothing more.
DEFAULT_PORT = 7879


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free one, printed at start).",
)
@click.option(
    "--require-key",
    is_flag=True,
    help="Ask for an API key (`stigmer server keys create NAME`) before showing or doing anything.",
)
@click.option("--no-worker", is_flag=True, help="Run nothing here: a `stigmer worker` runs what is started.")
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=2, show_default=True, help="Executions run at once."
)
@click.option("--open", "open_browser", is_flag=True, help="Open the dashboard in the default browser.")
@pass_app
def ui(app: App, port: int, require_key: bool, no_worker: bool, concurrency: int, open_browser: bool) -> None:
    """Serve the web dashboard on 127.0.0.1 until Ctrl-C.

    It shows agents, workflows (their task graphs), skills, MCP servers and environments
    (secret names only), and every execution: filter the list, open one to watch its tasks
    and its agent's transcript live. From there you run workflows (a form made from their
    inputs) and agents, approve or reject what waits for a person, cancel and resume.

    It reads the same backend as every other command (this home's store, or the server of
    `stigmer login`), and runs what is started from it with a worker inside (unless
    --no-worker, or against a server, whose own worker runs them). Its pages are bundled:
    nothing is fetched from the network. `stigmer server --ui-port P` serves it to a team.

    \b
    Examples:
      stigmer ui                      # then open http://127.0.0.1:7879/
      stigmer ui --port 0 --open
      stigmer ui --require-key        # sign in with a key, or open /?token=KEY once
    """
    import asyncio
    import signal

    from stigmer.backend.factory import open_backend
    from stigmer.config import database_of, redacted, retention_seconds
    from stigmer.host import Host, HostOptions, WorkerPlan
    from stigmer.runners.settings import run_settings
    from stigmer.ui import DashboardOptions
    from stigmer.version import __version__

    config = app.config
    remote = config.backend == "cloud"
    if require_key and remote:
        raise click.UsageError(
            "--require-key checks the API keys of this machine's store; against a server, "
            "run `stigmer server --ui-port P` there instead"
        )
    where = config.server if remote else redacted(database_of(config))
    runs_here = not (no_worker or remote)
    options = HostOptions(
        worker=WorkerPlan(concurrency=concurrency, run_settings=run_settings(config)) if runs_here else None,
        # A bad setting stops the dashboard before it starts, as it stops a worker.
        retention_seconds=(retention_seconds(config) or 0) if runs_here else 0,
        dashboard=DashboardOptions(
            port=port, backend_label=f"server {where}" if remote else where, remote=remote
        ),
        api_keys=database_of(config) if require_key else None,
    )
    host = Host(options, open_backend=lambda: open_backend(config), say=_say)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        await host.start()
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            dashboard = host.dashboard
            assert dashboard is not None
            say = _say
            say(f"stigmer ui {__version__}: {dashboard.url}")
            say(f"  backend: {'server ' if remote else ''}{where}")
            if host.worker is not None:
                say(f"  worker:  {host.describe_worker()}")
            else:
                say("  worker:  off (" + ("the server runs executions" if remote else "--no-worker") + ")")
            if require_key:
                say("  API key: required (sign in on the page, or open the address with ?token=KEY once)")
                _warn_without_keys(host)
            say("Ctrl-C stops it.")
            if open_browser:
                import webbrowser

                webbrowser.open(dashboard.url)
            await stop.wait()
            say("stopping: running executions keep their leases and continue with the next worker")
        finally:
            await host.stop()

    asyncio.run(main())


def _say(text: str) -> None:
    click.echo(text, err=True)


def _warn_without_keys(host: Host) -> None:
    if host.api_keys is not None and not host.api_keys.active():
        click.secho(
            "  no API key exists yet, so nobody can sign in: `stigmer server keys create NAME`",
            err=True,
            fg="yellow",
        )
