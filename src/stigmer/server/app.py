"""`stigmer server`: BackendService, health and reflection on one gRPC (asyncio) server, the
API key check in front. The worker, retention and the dashboard that run beside it are
composed by the host (:mod:`stigmer.host`), which `stigmer server` starts.

Shutting down (SIGINT/SIGTERM): health turns NOT_SERVING, open watches end with
UNAVAILABLE (their clients reconnect and resume), in-flight calls get ``grace_seconds`` to
finish, and running executions are left with their leases, so another worker (or this
server, restarted) continues each from its last recorded step once the lease expires.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import Backend
from stigmer.backend.wire import DEFAULT_PORT, is_loopback
from stigmer.config import TemporalSettings
from stigmer.errors import InvalidArgument
from stigmer.policy import OPEN, ExecutionPolicy
from stigmer.runners.settings import DEFAULTS, RunSettings
from stigmer.server.auth import AuthInterceptor, Verify
from stigmer.server.reflection import enable_reflection
from stigmer.server.servicer import SERVICE, BackendPool, BackendServicer
from stigmer.store.connection import is_url

if TYPE_CHECKING:
    from stigmer.backend.keys import ApiKeyStore
    from stigmer.store.postgres import ChangeListener

DEFAULT_MAX_REQUEST_MB = 16
log = logging.getLogger("stigmer.server")


@dataclass
class ServerOptions:
    """How `stigmer server` runs.

    Args:
        database: The store it serves: a SQLite file, or a ``postgresql://`` URL (several
            servers may serve one PostgreSQL database).
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
        run_settings: The home's default model and model prices (config.yaml), for the worker.
        ui_port: Also serve the web dashboard on this port (same host, keys and TLS); None: no.
        engine: What runs executions: ``local`` (the worker inside, on leases) or ``temporal``
            (queued runs are handed to Temporal; the worker inside is a Temporal worker).
        temporal: Where Temporal is, with the ``temporal`` engine.
        policy: What resources may make this host run or reach (stigmer.policy); None: anything
            (tests). `stigmer server` passes the one of its config.yaml, strict by default.
        durability: ``full`` (commits survive a power loss) or ``normal`` (a crashed process).
        metrics_port: Show the worker's run metrics as Prometheus text on this port (0: any free
            one); None: no.
    """

    database: Path | str
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
    run_settings: RunSettings = DEFAULTS
    engine: str = "local"
    temporal: TemporalSettings | None = None
    extra_options: list[tuple[str, Any]] = field(default_factory=list)
    ui_port: int | None = None
    policy: ExecutionPolicy | None = None
    durability: str = "full"
    metrics_port: int | None = None

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


class StigmerServer:
    """One gRPC server: BackendService, health, reflection and the key check.

    Args:
        options: How to run (the worker, retention and dashboard options are the host's).
        open_backend: Opens a backend for one thread; by default a LocalBackend on
            ``options.database`` (tests pass one on their clock).
        verify: Token to the caller (key name and role); by default ``keys``.
        keys: The API-key store; by default one on ``options.database``, closed with the server.
    """

    def __init__(
        self,
        options: ServerOptions,
        *,
        open_backend: Callable[[], Backend] | None = None,
        verify: Verify | None = None,
        keys: ApiKeyStore | None = None,
    ) -> None:
        self.options = options
        self.open_backend = open_backend or (
            lambda: LocalBackend.open(options.database, durability=options.durability)
        )
        self._keys = keys
        self._own_keys: ApiKeyStore | None = None
        if verify is None and keys is None:
            from stigmer.backend.keys import ApiKeyStore

            self._keys = self._own_keys = ApiKeyStore(options.database)
        self.verify: Verify = verify or self._keys.verify  # type: ignore[union-attr]
        self.port = 0
        self._server: grpc.aio.Server | None = None
        self._pool: BackendPool | None = None
        self._listener: ChangeListener | None = None
        self._health: Any = None
        self._stopping: asyncio.Event | None = None

    @property
    def url(self) -> str:
        scheme = "grpcs" if self.options.tls else "grpc"
        host = self.options.host if ":" not in self.options.host else f"[{self.options.host}]"
        return f"{scheme}://{host}:{self.port}"

    def active_keys(self) -> int:
        """Active API keys (1 when tokens are checked by a given ``verify``)."""
        return self._keys.active() if self._keys else 1

    async def start(self) -> int:
        """Check the exposure rules, bind and start serving; return the port.

        Raises:
            InvalidArgument: A non-loopback host without keys or TLS (see check_exposure),
                or a TLS file that cannot be read, or a port that is taken.
        """
        options = self.options
        check_exposure(options, self.active_keys())
        self._stopping = asyncio.Event()
        self._pool = BackendPool(self.open_backend, threads=options.threads)
        if is_url(options.database):
            from stigmer.store.postgres import ChangeListener  # psycopg: only for a PostgreSQL store

            self._listener = ChangeListener(str(options.database)).start()
        servicer = BackendServicer(
            self._pool, stopping=self._stopping, policy=options.policy or OPEN, changes=self._listener
        )
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
        enable_reflection([SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name], server)
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
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            raise InvalidArgument(
                f"cannot listen on {address}: {exc}", field="--port", hint="is another server using it?"
            ) from None
        await server.start()
        self._server = server
        for name in ("", SERVICE):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self.port

    async def stop(self, grace: float | None = None) -> None:
        """Shut down gracefully (see the module docstring)."""
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        if self._stopping is not None:
            self._stopping.set()
        if self._server is not None:
            await self._server.stop(self.options.grace_seconds if grace is None else grace)
            self._server = None
        if self._pool is not None:
            await asyncio.to_thread(self._pool.close)
            self._pool = None
        if self._listener is not None:
            await asyncio.to_thread(self._listener.close)
            self._listener = None
        if self._own_keys is not None:
            self._own_keys.close()
            self._own_keys = None


def _tls_credentials(options: ServerOptions) -> grpc.ServerCredentials:
    if not (options.tls_cert and options.tls_key):
        raise InvalidArgument("TLS needs both --tls-cert and --tls-key", field="--tls-key")
    try:
        chain, key = options.tls_cert.read_bytes(), options.tls_key.read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"cannot read {exc.filename}: {exc.strerror}", field="--tls-cert") from None
    return grpc.ssl_server_credentials([(key, chain)])


__all__ = [
    "DEFAULT_PORT",
    "ServerOptions",
    "StigmerServer",
    "check_exposure",
    "is_loopback",
]
