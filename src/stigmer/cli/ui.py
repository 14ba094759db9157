"""`stigmer ui`: the web dashboard on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import click

from stigmer.cli.context import App, pass_app

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
    import signal
    import threading

    from stigmer.backend.factory import open_backend
    from stigmer.ui import Dashboard, DashboardOptions
    from stigmer.ui.auth import stored_keys
    from stigmer.version import __version__

    config = app.config
    remote = config.backend == "cloud"
    if require_key and remote:
        raise click.UsageError(
            "--require-key checks the API keys of this machine's store; against a server, "
            "run `stigmer server --ui-port P` there instead"
        )
    verify, close_keys = stored_keys(config.database_path) if require_key else (None, None)
    where = config.server if remote else str(config.database_path)
    options = DashboardOptions(
        port=port,
        backend_label=f"server {where}" if remote else where,
        worker=not no_worker,
        concurrency=concurrency,
        config_model=str(config.extra.get("model", "")),
        remote=remote,
    )
    dashboard = Dashboard(options, open_backend=lambda: open_backend(config), verify=verify)
    stop = threading.Event()
    try:
        dashboard.start()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        say = _say
        say(f"stigmer ui {__version__}: {dashboard.url}")
        say(f"  backend: {'server ' if remote else ''}{where}")
        if dashboard.engine is not None:
            say(f"  worker:  {dashboard.engine.worker_id}")
        else:
            say("  worker:  off (" + ("the server runs executions" if remote else "--no-worker") + ")")
        if require_key:
            say("  API key: required (sign in on the page, or open the address with ?token=KEY once)")
            _warn_without_keys(config.database_path)
        say("Ctrl-C stops it.")
        if open_browser:
            import webbrowser

            webbrowser.open(dashboard.url)
        while not stop.wait(0.5):
            pass
        say("stopping: running executions keep their leases and continue with the next worker")
    finally:
        dashboard.stop()
        if close_keys is not None:
            close_keys()


def _say(text: str) -> None:
    click.echo(text, err=True)


def _warn_without_keys(database: Path) -> None:
    from stigmer.server.keys import count_active
    from stigmer.store.database import Database

    db = Database.open(database)
    try:
        active = count_active(db.conn)
    finally:
        db.close()
    if not active:
        click.secho(
            "  no API key exists yet, so nobody can sign in: `stigmer server keys create NAME`",
            err=True,
            fg="yellow",
        )
