"""`stigmer server`: BackendService, health and reflection on one gRPC (asyncio) server, the
API key check in front, and the local engine's worker running beside it.

Shutting down (SIGINT/SIGTERM): health turns NOT_SERVING, open watches end with
UNAVAILABLE (their clients reconnect and resume), in-flight calls get ``grace_seconds`` to
finish, and running executions are left with their leases, so another worker (or this
server, restarted) continues each from its last recorded step once the lease expires.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import Backend
from stigmer.backend.wire import DEFAULT_PORT, is_loopback
from stigmer.config import TemporalSettings
from stigmer.engine.thread import EngineThread
from stigmer.errors import InvalidArgument
from stigmer.server import keys
from stigmer.server.auth import AuthInterceptor, Verify
from stigmer.server.servicer import SERVICE, BackendPool, BackendServicer
from stigmer.store.database import Database

if TYPE_CHECKING:
    from stigmer.engine.temporal.worker import TemporalWorkerThread

DEFAULT_MAX_REQUEST_MB = 16
log = logging.getLogger("stigmer.server")


@dataclass
class ServerOptions:
    """How `stigmer server` runs.

    Args:
        database: The SQLite file it serves.
        host: Where it listens; a non-loopback host needs keys and TLS (or ``insecure``).
        port: 0 picks a free one (see :attr:`StigmerServer.port`).
        tls_cert: PEM certificate chain; with ``tls_key``, the server speaks TLS only.
        tls_key: PEM private key.
        insecure: Allow a non-loopback host without TLS or without any API key.
        worker: Run the local engine's worker inside (else `stigmer worker` processes do).
        concurrency: Executions the worker runs at once.
        max_request_bytes: Larger requests are refused with RESOURCE_EXHAUSTED.
        grace_seconds: How long in-flight calls may take to finish on shutdown.
        threads: Backend calls served at once.
        config_model: The default model of the home (config.yaml), for the worker.
        ui_port: Also serve the web dashboard on this port (same host, keys and TLS); None: no.
        engine: What runs executions: ``local`` (the worker inside, on leases) or ``temporal``
            (queued runs are handed to Temporal; the worker inside is a Temporal worker).
        temporal: Where Temporal is, with the ``temporal`` engine.
        durability: ``full`` (commits survive a power loss) or ``normal`` (a crashed process).
    """

    database: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    tls_cert: Path | None = None
    tls_key: Path | None = None
    insecure: bool = False
    worker: bool = True
    concurrency: int = 2
    max_request_bytes: int = DEFAULT_MAX_REQUEST_MB * 1024 * 1024
    grace_seconds: float = 10.0
    threads: int = 8
    config_model: str = ""
    engine: str = "local"
    temporal: TemporalSettings | None = None
    extra_options: list[tuple[str, Any]] = field(default_factory=list)
    ui_port: int | None = None
    durability: str = "full"

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert or self.tls_key)


def check_exposure(options: ServerOptions, active_keys: int) -> None:
    """Refuse to listen beyond this machine without keys and TLS, unless told ``insecure``.

    Raises:
        InvalidArgument: The host is not loopback and there is no key, or TLS is off.
    """
    if is_loopback(options.host) or options.insecure:
        return
    if active_keys == 0:
        raise InvalidArgument(
            f"refusing to listen on {options.host} without any API key",
            field="--host",
            hint="create one first (`stigmer server keys create NAME`), or pass --insecure",
        )
    if not options.tls:
        raise InvalidArgument(
            f"refusing to listen on {options.host} without TLS: API keys would cross the network in clear",
            field="--host",
            hint="pass --tls-cert and --tls-key, or --insecure (e.g. behind a TLS-terminating proxy)",
        )


class KeyChecker:
    """Checks bearer tokens against the API keys of a database (on the server's event loop)."""

    def __init__(self, database: Path) -> None:
        self.db = Database.open(database)

    def __call__(self, token: str) -> str | None:
        key = keys.verify(self.db.conn, token)
        return key.name if key else None

    def active(self) -> int:
        return keys.count_active(self.db.conn)

    def close(self) -> None:
        self.db.close()


class StigmerServer:
    """One gRPC server: BackendService, health, reflection, the key check, the worker.

    Args:
        options: How to run.
        open_backend: Opens a backend for one thread; by default a LocalBackend on
            ``options.database`` (tests pass one on their clock).
        verify: Token to key name; by default the keys of ``options.database``.
    """

    def __init__(
        self,
        options: ServerOptions,
        *,
        open_backend: Callable[[], Backend] | None = None,
        verify: Verify | None = None,
    ) -> None:
        self.options = options
        self.open_backend = open_backend or (
            lambda: LocalBackend.open(options.database, durability=options.durability)
        )
        self._keys: KeyChecker | None = None
        if verify is None:
            self._keys = KeyChecker(options.database)
            verify = self._keys
        self.verify: Verify = verify
        self.port = 0
        self.worker: EngineThread | TemporalWorkerThread | None = None
        self.dashboard: Any = None  # stigmer.ui.Dashboard, when options.ui_port is set
        self._close_dashboard_keys: Callable[[], None] | None = None
        self._server: grpc.aio.Server | None = None
        self._pool: BackendPool | None = None
        self._health: Any = None
        self._stopping: asyncio.Event | None = None

    @property
    def url(self) -> str:
        scheme = "grpcs" if self.options.tls else "grpc"
        host = self.options.host if ":" not in self.options.host else f"[{self.options.host}]"
        return f"{scheme}://{host}:{self.port}"

    def active_keys(self) -> int:
        return self._keys.active() if self._keys else 1

    async def start(self) -> int:
        """Check the exposure rules, bind, start serving (and the worker); return the port.

        Raises:
            InvalidArgument: A non-loopback host without keys or TLS (see check_exposure),
                or a TLS file that cannot be read, or a port that is taken.
        """
        options = self.options
        check_exposure(options, self.active_keys())
        self._stopping = asyncio.Event()
        self._pool = BackendPool(self.open_backend, threads=options.threads)
        servicer = BackendServicer(self._pool, stopping=self._stopping)
        server = grpc.aio.server(
            interceptors=[AuthInterceptor(self.verify)],
            options=[
                ("grpc.max_receive_message_length", options.max_request_bytes),
                ("grpc.max_send_message_length", 256 * 1024 * 1024),
                # A second server on a port in use must fail, not share it silently.
                ("grpc.so_reuseport", 0),
                *options.extra_options,
            ],
        )
        server.add_generic_rpc_handlers([servicer.generic_handler()])
        self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            [SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
            server,
        )
        address = (
            f"{options.host}:{options.port}"
            if ":" not in options.host
            else f"[{options.host}]:{options.port}"
        )
        try:
            if options.tls:
                self.port = server.add_secure_port(address, _tls_credentials(options))
            else:
                self.port = server.add_insecure_port(address)
        except RuntimeError as exc:
            self._pool.close()
            raise InvalidArgument(
                f"cannot listen on {address}: {exc}", field="--port", hint="is another server using it?"
            ) from None
        await server.start()
        self._server = server
        for name in ("", SERVICE):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        if options.engine == "temporal":
            from stigmer.engine.temporal.worker import TemporalWorkerThread

            self.worker = TemporalWorkerThread(
                self.open_backend,
                options.temporal or TemporalSettings(),
                activities=options.concurrency,
                work=options.worker,
                config_model=options.config_model,
            )
            try:
                self.worker.start()
            except BaseException:
                self.worker = None
                await self.stop(0)
                raise
        elif options.worker:
            self.worker = EngineThread(
                self.open_backend, concurrency=options.concurrency, config_model=options.config_model
            )
            self.worker.start()
        if options.ui_port is not None:
            await asyncio.to_thread(self._start_dashboard, options.ui_port)
        return self.port

    def _start_dashboard(self, port: int) -> None:
        """The web dashboard beside the gRPC API: same store, same API keys, same TLS."""
        from stigmer.ui import Dashboard, DashboardOptions
        from stigmer.ui.auth import locked, stored_keys

        options = self.options
        if self._keys is not None:  # the keys of the database, on a connection of the dashboard's own
            verify, self._close_dashboard_keys = stored_keys(options.database)
        else:
            verify = locked(self.verify)
        dashboard_options = DashboardOptions(
            host=options.host,
            port=port,
            worker=False,
            remote=True,  # this server's worker runs what is started there
            tls_cert=options.tls_cert,
            tls_key=options.tls_key,
            backend_label="this server",
        )
        self.dashboard = Dashboard(dashboard_options, open_backend=self.open_backend, verify=verify).start()

    def describe_worker(self) -> str:
        """What runs this server's executions, for people."""
        options = self.options
        if options.engine == "temporal":
            s = options.temporal or TemporalSettings()
            where = f"Temporal at {s.address} (namespace {s.namespace}, task queue {s.task_queue})"
            if options.worker:
                return f"{where}; a Temporal worker runs here too"
            return f"{where}; `stigmer worker --engine temporal` processes run the executions"
        if isinstance(self.worker, EngineThread):
            return self.worker.worker_id
        return "off (--no-worker)"

    async def stop(self, grace: float | None = None) -> None:
        """Shut down gracefully (see the module docstring)."""
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        if self._stopping is not None:
            self._stopping.set()
        if self._server is not None:
            await self._server.stop(self.options.grace_seconds if grace is None else grace)
            self._server = None
        if self.dashboard is not None:
            await asyncio.to_thread(self.dashboard.stop)
            self.dashboard = None
        if self._close_dashboard_keys is not None:
            self._close_dashboard_keys()
            self._close_dashboard_keys = None
        if self.worker is not None:
            await asyncio.to_thread(self.worker.stop)
            self.worker = None
        if self._pool is not None:
            await asyncio.to_thread(self._pool.close)
            self._pool = None
        if self._keys is not None:
            self._keys.close()
            self._keys = None


def _tls_credentials(options: ServerOptions) -> grpc.ServerCredentials:
    if not (options.tls_cert and options.tls_key):
        raise InvalidArgument("TLS needs both --tls-cert and --tls-key", field="--tls-key")
    try:
        chain, key = options.tls_cert.read_bytes(), options.tls_key.read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"cannot read {exc.filename}: {exc.strerror}", field="--tls-cert") from None
    return grpc.ssl_server_credentials([(key, chain)])


class EmbeddedServer:
    """A StigmerServer on a thread of this process, for tests and tools.

    Example::

        with EmbeddedServer(ServerOptions(database=path, port=0, worker=False)) as server:
            backend = RemoteBackend(server.url, token=token)
    """

    def __init__(
        self,
        options: ServerOptions,
        *,
        open_backend: Callable[[], Backend] | None = None,
        verify: Verify | None = None,
    ) -> None:
        self.server = StigmerServer(options, open_backend=open_backend, verify=verify)
        self._thread = threading.Thread(target=self._main, name="stigmer-server", daemon=True)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._done = asyncio.Event()
            try:
                await self.server.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                await self.server.stop(0)
                return
            self._ready.set()
            await self._done.wait()
            await self.server.stop(0)

        asyncio.run(main())

    def start(self) -> EmbeddedServer:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._done is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._done.set)
        self._thread.join()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = [
    "DEFAULT_PORT",
    "EmbeddedServer",
    "KeyChecker",
    "ServerOptions",
    "StigmerServer",
    "check_exposure",
    "is_loopback",
]
