"""`stigmer server` and `stigmer server keys create|list|revoke`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stigmer.cli.context import (
    App,
    echo_result,
    engine_options,
    output_option,
    pass_app,
    result_output_option,
)
from stigmer.config import DEFAULT_SERVER_PORT, database_of, durability_of, is_database_url

if TYPE_CHECKING:
    from stigmer.backend.local import LocalBackend
    from stigmer.backend.remote import RemoteBackend
    from stigmer.server.app import ServerOptions


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_SERVER_PORT,
    show_default=True,
    help="Port to listen on (0: any free one, printed at start).",
)
@click.option(
    "--database",
    default=None,
    metavar="FILE|URL",
    help="The store to serve: a SQLite file, or postgresql://USER:PASSWORD@HOST:PORT/DB, which "
    "several servers may share (default: $STIGMER_DATABASE_URL, `database:` in config.yaml, else "
    "the home's local.db).",
)
@click.option("--no-worker", is_flag=True, help="Do not run executions here; `stigmer worker` processes do.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Executions run at once (local engine, default 2), or activities (temporal, default 100).",
)
@engine_options
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="PEM certificate chain (TLS).")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="PEM private key (TLS).")
@click.option(
    "--insecure",
    is_flag=True,
    help="Allow a non-loopback --host without TLS or without API keys (e.g. behind a TLS proxy).",
)
@click.option(
    "--max-request-mb",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Refuse larger requests (RESOURCE_EXHAUSTED).",
)
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Seconds in-flight calls get to finish on shutdown.",
)
@click.option(
    "--ui-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Also serve the web dashboard on this port, behind the same API keys and TLS (0: any free one).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Show run metrics as Prometheus text on http://HOST:PORT/metrics (0: any free port; "
    "needs the telemetry extra).",
)
@pass_app
@click.pass_context
def server(
    ctx: click.Context,
    app: App,
    host: str,
    port: int,
    database: str | None,
    no_worker: bool,
    concurrency: int | None,
    engine: str | None,
    temporal_address: str,
    temporal_dev: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    insecure: bool,
    max_request_mb: int,
    grace: float,
    ui_port: int | None,
    metrics_port: int | None,
) -> None:
    """Serve this home's store over gRPC, for a team: the same API the CLI uses locally.

    Every call needs an API key (`stigmer server keys create NAME`), except the standard
    gRPC health service; server reflection is on. Executions run inside, on the local
    engine, unless --no-worker; beside that worker, `retention: 30d` in config.yaml prunes
    finished runs at start and hourly. Ctrl-C (or SIGTERM) stops it gracefully: in-flight calls
    finish, running executions keep their leases and continue where they were once a
    worker (this server, restarted, or another) takes them over.

    With `--engine temporal` (or `engine: temporal` in config.yaml), the server hands every
    execution to Temporal, where `stigmer worker --engine temporal` processes run them (and
    a Temporal worker inside, unless --no-worker); `--temporal dev` starts Temporal's dev
    server here for a trial.

    With `--database postgresql://…` (or `database:` in config.yaml, or STIGMER_DATABASE_URL),
    the store is a PostgreSQL database (pip install 'stigmer[postgres]'): run as many servers
    on it as you like, behind a load balancer, each with the home's master key (docs/deploy.md).

    \b
    Examples:
      stigmer server keys create alice        # prints the key, once
      stigmer server --port 7878
      stigmer server --database postgresql://stigmer@db.internal/stigmer --host 0.0.0.0 --insecure
      stigmer server --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem
      stigmer server --ui-port 7879            # and the dashboard: sign in with a key
      stigmer server --metrics-port 9464       # and Prometheus metrics at :9464/metrics
      stigmer server --engine temporal --temporal-address temporal.internal:7233 --no-worker
    Then, anywhere: stigmer login grpc://HOST:7878 --token KEY
    """
    if ctx.invoked_subcommand is not None:
        return
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    try:
        import_module("stigmer.server.app")
    except ImportError as exc:
        from stigmer.backend.factory import missing_server_extra

        raise missing_server_extra(exc) from None

    from stigmer.cli.worker import chosen_engine
    from stigmer.config import retention_seconds

    # Retention runs beside the worker, wherever one runs; a bad setting stops the server first.
    retention = retention_seconds(app.config) or 0

    with chosen_engine(app, engine, temporal_address, temporal_dev) as chosen:
        options = _options(app, database, host, port, tls_cert, tls_key, insecure, max_request_mb, grace)
        options.worker = not no_worker
        options.ui_port = ui_port
        options.metrics_port = metrics_port
        options.engine = chosen.name
        options.concurrency = concurrency or (2 if chosen.runs_here else 100)
        if chosen.name == "temporal":
            from stigmer.engine.temporal.engine import TemporalEngine

            assert isinstance(chosen, TemporalEngine)
            options.temporal = chosen.temporal
        _serve(options, retention, app.config.home)


def _options(
    app: App,
    database: str | None,
    host: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    insecure: bool,
    max_request_mb: int,
    grace: float,
) -> ServerOptions:
    from stigmer.policy import ExecutionPolicy
    from stigmer.runners.settings import run_settings
    from stigmer.server.app import ServerOptions

    return ServerOptions(
        database=_database(app, database),
        host=host,
        port=port,
        tls_cert=Path(tls_cert) if tls_cert else None,
        tls_key=Path(tls_key) if tls_key else None,
        insecure=insecure,
        max_request_bytes=max_request_mb * 1024 * 1024,
        grace_seconds=grace,
        run_settings=run_settings(app.config),
        policy=ExecutionPolicy.for_server(app.config.server_settings),
        durability=durability_of(app.config),
    )


def _say(text: str) -> None:
    click.echo(text, err=True)


def _database(app: App, database: str | None) -> Path | str:
    """The store `server` was pointed at: a PostgreSQL URL as given, or a SQLite file."""
    chosen = database or database_of(app.config)
    return chosen if is_database_url(chosen) else Path(chosen).expanduser().absolute()


def _serve(options: ServerOptions, retention: int, home: Path) -> None:
    import asyncio
    import signal

    from stigmer.backend.local import LocalBackend
    from stigmer.backend.wire import is_loopback
    from stigmer.cli.logs import timestamped
    from stigmer.config import redacted
    from stigmer.host import Host, HostOptions
    from stigmer.secrets.keys import MasterKeys
    from stigmer.version import __version__

    timestamped()
    # A SQLite file's secrets are sealed with the key beside it; a shared database's with the
    # home's, which every server of that database holds (docs/deploy.md).
    master_keys = MasterKeys(home) if is_database_url(str(options.database)) else None

    async def main() -> None:
        host = Host(
            HostOptions.for_server(options, retention_seconds=retention),
            open_backend=lambda: LocalBackend.open(
                options.database, durability=options.durability, keys=master_keys
            ),
            say=_say,
        )
        await host.start()
        running = host.server
        assert running is not None
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        _say(f"stigmer server {__version__} listening on {options.host}:{running.port} ({running.url})")
        store = "postgresql" if is_database_url(str(options.database)) else "sqlite"
        _say(f"  database: {redacted(str(options.database))} ({store})")
        _say(f"  TLS:      {'on' if options.tls else 'off'}")
        if options.insecure and not is_loopback(options.host) and not options.tls:
            click.secho(
                f"  WARNING: --insecure on {options.host} without TLS: API keys, secret values and "
                "transcripts cross the network in clear, readable by anyone on the path; use it only "
                "behind a TLS-terminating proxy on a network you trust",
                err=True,
                fg="red",
            )
        _say(f"  worker:   {host.describe_worker()}")
        if host.services:
            _say(f"  beside the worker: {', '.join(s.name for s in host.services)}")
        if host.dashboard is not None:
            _say(f"  dashboard: {dashboard_banner(host.dashboard.url, options.host)}")
        keys = running.active_keys()
        if keys:
            _say(f"  API keys: {keys} active")
        else:
            click.secho(
                "  API keys: none yet, so every call is refused: `stigmer server keys create NAME`",
                err=True,
                fg="yellow",
            )
        await stop.wait()
        _say("shutting down: in-flight calls finish; running executions keep their leases")
        await host.stop()
        _say("server stopped")

    asyncio.run(main())


def dashboard_banner(url: str, host: str) -> str:
    """Where the dashboard is, as bound: every address, when the host is a wildcard."""
    if host in ("0.0.0.0", "::", ""):
        port = url.rstrip("/").rsplit(":", 1)[1]
        scheme = url.split(":", 1)[0]
        return (
            f"{scheme}://{host or '0.0.0.0'}:{port}/ (every address of this machine; sign in with an API key)"
        )
    return f"{url} (sign in with an API key)"


def _chosen_database(database: str | None) -> Path | str | None:
    """The database `server keys …` was pointed at: its own --database, else `server --database`."""
    if not database:
        ctx = click.get_current_context()
        while ctx.parent is not None and not database:
            ctx = ctx.parent
            database = ctx.params.get("database") if ctx.info_name == "server" else None
    if not database:
        return None
    return database if is_database_url(database) else Path(database).expanduser().absolute()


_database_option = click.option(
    "--database",
    default=None,
    metavar="FILE|URL",
    help="The server's store: a SQLite file or a postgresql:// URL (default: the home's).",
)


@server.group()
def keys() -> None:
    """Create, list and revoke the API keys clients use (`stigmer login URL --token KEY`)."""


@contextlib.contextmanager
def _key_store(app: App, database: str | None) -> Iterator[LocalBackend | RemoteBackend]:
    """Where `server keys …` manage keys: the server this home is logged in to (no --database
    given), else the chosen database or the home's, through the backend's API-keys part."""
    chosen = _chosen_database(database)
    if chosen is None and app.config.backend == "cloud":
        from stigmer.backend.remote import RemoteBackend

        store: LocalBackend | RemoteBackend = RemoteBackend.from_config(app.config)
    else:
        import getpass

        from stigmer.backend.local import LocalBackend
        from stigmer.secrets.keys import MasterKeys

        location = chosen or database_of(app.config)
        store = LocalBackend.open(
            location,
            actor=getpass.getuser(),
            keys=MasterKeys(app.config.home),
            durability=durability_of(app.config),
        )
    try:
        yield store
    finally:
        store.close()


_ROLE_HELP = (
    "What the key may do: viewer (read), runner (+ execute, approve, cancel, resume, retry), "
    "editor (+ apply, delete, environments), admin (+ keys, secrets' values, pruning), "
    "worker (claims, leases and steps, for `stigmer worker` elsewhere)."
)


@keys.command("create")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["viewer", "runner", "editor", "admin", "worker"]),
    default="admin",
    show_default=True,
    help=_ROLE_HELP,
)
@_database_option
@result_output_option
@pass_app
def create(app: App, name: str, role: str, database: str | None) -> None:
    """Create the API key NAME and print it (to stdout), once: only its hash is kept.

    On a machine logged in to a server (`stigmer login`), the key is made there (this needs an
    admin key); otherwise in this home's database, or --database.

    \b
    Examples:
      KEY=$(stigmer server keys create ci --role runner)
      stigmer server keys create build-box --role worker
    """
    with _key_store(app, database) as store:
        key, token = store.create_api_key(name, role)
    key_name, key_role, key_id = key.name, key.role, key.id
    echo_result(app, token, {"name": key_name, "id": key_id, "role": key_role, "key": token})
    click.echo(
        f"API key {key_name!r} ({key_role}) created. It is shown only now: store it somewhere safe. "
        f"Clients use it with `stigmer login URL --token KEY`.",
        err=True,
    )


@keys.command("list")
@_database_option
@output_option
@pass_app
def list_(app: App, database: str | None, output: str | None) -> None:
    """List the API keys (names, roles and dates, never the keys)."""
    from stigmer.cli.output import dump_json, dump_yaml, table
    from stigmer.server.rpc.api_keys import from_wire

    with _key_store(app, database) as store:
        found = [from_wire(k) for k in store.list_api_keys()]
    fmt = app.output(output)
    if fmt != "table":
        data = [
            {
                "name": k.name,
                "id": k.id,
                "role": k.role,
                "roleFromUpgrade": k.role_from_upgrade,
                "createdAt": k.created_at,
                "createdBy": k.created_by,
                "revokedAt": k.revoked_at,
                "active": k.active,
            }
            for k in found
        ]
        click.echo(dump_json(data) if fmt == "json" else dump_yaml([data]).rstrip("\n"))
        return
    if not found:
        click.echo("No API keys. Create one: stigmer server keys create NAME --role ROLE", err=True)
        return
    rows = [
        [
            k.name,
            k.id,
            f"{k.role} (from upgrade)" if k.role_from_upgrade else k.role,
            k.created_at[:19].replace("T", " "),
            k.created_by,
            "active" if k.active else "revoked",
        ]
        for k in found
    ]
    click.echo(table(["NAME", "ID", "ROLE", "CREATED", "BY", "STATUS"], rows))
    if any(k.role_from_upgrade and k.active for k in found):
        click.echo(
            "Keys marked 'from upgrade' were made before roles existed and became admin; "
            "replace them with narrower keys (`stigmer server keys create NAME --role R`, then revoke).",
            err=True,
        )


@keys.command("revoke")
@click.argument("name")
@_database_option
@result_output_option
@pass_app
def revoke(app: App, name: str, database: str | None) -> None:
    """Revoke the API key NAME: calls with it are refused from now on (a running server too)."""
    with _key_store(app, database) as store:
        store.revoke_api_key(name)
    echo_result(app, f"API key {name!r} revoked", {"name": name, "revoked": True})
