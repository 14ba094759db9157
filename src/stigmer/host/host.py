"""The host of long-running processes: `stigmer worker`, `stigmer server` and `stigmer ui`.

One :class:`Host` composes what such a process runs, each part optional:

- the engine's **worker** (the local engine on a thread of its own, or a Temporal worker; or,
  for `stigmer worker`, the engine serving on the host's own event loop);
- **services beside the worker**: retention pruning (the ``retention`` setting) and whatever
  later joins it (schedules, metrics). They run wherever a worker runs;
- the **gRPC server** (BackendService, health, reflection, the API-key check);
- the **dashboard**;
- the **API-key store** the server and the dashboard check tokens against.

The commands parse their options into :class:`HostOptions` and call :meth:`Host.run`.
Stopping ends them in reverse order: the server stops taking calls, the dashboard ends, the
services finish what is under way, and the worker's runs keep their leases.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stigmer.backend.keys import ApiKeyStore
from stigmer.backend.protocol import Backend
from stigmer.config import TelemetrySettings, TemporalSettings
from stigmer.host.services import PRUNE_EVERY_SECONDS, Retention, Service
from stigmer.runners.settings import DEFAULTS, RunSettings

if TYPE_CHECKING:
    from stigmer.backend.roles import Caller
    from stigmer.engine.temporal.worker import TemporalWorkerThread
    from stigmer.engine.thread import EngineThread
    from stigmer.policy import ExecutionPolicy
    from stigmer.server.app import ServerOptions, StigmerServer
    from stigmer.ui.dashboard import Dashboard, DashboardOptions

log = logging.getLogger("stigmer.host")


@dataclass
class WorkerPlan:
    """The engine's worker a host runs on a thread of its own.

    Args:
        engine: ``local`` (claims runs from the store) or ``temporal``.
        concurrency: Runs at once (local), or Temporal activities at once.
        run_settings: The home's default model and model prices (config.yaml).
        temporal: Where Temporal is, with the ``temporal`` engine.
        work: With ``temporal``, also run Temporal activities here (else only hand the store's
            queued runs to Temporal).
    """

    engine: str = "local"
    concurrency: int = 2
    run_settings: RunSettings = DEFAULTS
    temporal: TemporalSettings | None = None
    work: bool = True


@dataclass
class HostOptions:
    """What a host runs; None (or 0) leaves a part out.

    Args:
        worker: The engine's worker on a thread (`stigmer server`, `stigmer ui`).
        retention_seconds: Prune finished runs older than this, beside the worker.
        prune_every: Seconds between prunes.
        server: The gRPC server.
        dashboard: The web dashboard.
        api_keys: The database whose API keys the server and the dashboard check (None: the
            server's own database; no check for a dashboard without a server).
        beside: More services to run beside the worker (after retention).
        policy: What resources may make this process run or reach (stigmer.policy), installed
            before anything starts so every worker of the host follows it; None: unchanged.
        telemetry: Where this process's metrics go (None: its worker's, or nowhere); with it,
            the queue's depth is read beside the worker.
    """

    worker: WorkerPlan | None = None
    retention_seconds: int = 0
    prune_every: float = PRUNE_EVERY_SECONDS
    server: ServerOptions | None = None
    dashboard: DashboardOptions | None = None
    api_keys: Path | str | None = None
    beside: Sequence[Service] = field(default_factory=tuple)
    policy: ExecutionPolicy | None = None
    telemetry: TelemetrySettings | None = None

    @classmethod
    def for_server(cls, options: ServerOptions, *, retention_seconds: int = 0) -> HostOptions:
        """What `stigmer server` runs: the gRPC server, its worker (unless ``options.worker`` is
        off; with Temporal, the hand-over to Temporal still runs), retention beside the worker,
        and the dashboard on ``options.ui_port``, behind the same keys and TLS."""
        worker = None
        run_settings = options.run_settings
        beside: list[Service] = []
        if options.metrics_port is not None:
            from stigmer.telemetry.prometheus import MetricsEndpoint

            telemetry = replace(
                run_settings.telemetry or TelemetrySettings(export=False), metrics_port=options.metrics_port
            )
            run_settings = replace(run_settings, telemetry=telemetry)
            beside.append(MetricsEndpoint(options.host, telemetry))
        if options.worker or options.engine == "temporal":
            worker = WorkerPlan(
                engine=options.engine,
                concurrency=options.concurrency,
                run_settings=run_settings,
                temporal=options.temporal,
                work=options.worker,
            )
        dashboard = None
        if options.ui_port is not None:
            from stigmer.ui.dashboard import DashboardOptions

            dashboard = DashboardOptions(
                host=options.host,
                port=options.ui_port,
                remote=True,  # this server's worker runs what is started there
                tls_cert=options.tls_cert,
                tls_key=options.tls_key,
                backend_label="this server",
            )
        return cls(
            worker=worker,
            retention_seconds=retention_seconds,
            server=options,
            dashboard=dashboard,
            policy=options.policy,
            beside=beside,
            telemetry=run_settings.telemetry,
        )


class Host:
    """Composes and runs the parts of one long-running process (see the module docstring).

    Args:
        options: What runs.
        open_backend: Opens a backend for one thread (each part opens its own).
        verify: Checks API keys instead of a stored key store (tests).
        say: Where services report (retention), for people.
    """

    def __init__(
        self,
        options: HostOptions,
        *,
        open_backend: Callable[[], Backend],
        verify: Callable[[str], Caller | None] | None = None,
        say: Callable[[str], None] = log.warning,
    ) -> None:
        self.options = options
        self.open_backend = open_backend
        self.say = say
        self._verify = verify
        self.api_keys: ApiKeyStore | None = None
        self.worker: EngineThread | TemporalWorkerThread | None = None
        self.services: list[Service] = []
        self.server: StigmerServer | None = None
        self.dashboard: Dashboard | None = None

    def services_beside_the_worker(self) -> list[Service]:
        """What runs beside the worker: retention, schedules, the queue's depth (with telemetry),
        then ``options.beside``."""
        options = self.options
        services: list[Service] = []
        if options.retention_seconds:
            services.append(
                Retention(
                    self.open_backend, options.retention_seconds, every=options.prune_every, say=self.say
                )
            )
        # Schedules fire wherever a worker runs; the store keeps each fire to one run.
        from stigmer.triggers.schedules import ScheduleService

        services.append(ScheduleService(self.open_backend, say=self.say))
        telemetry = options.telemetry or (options.worker.run_settings.telemetry if options.worker else None)
        if telemetry is not None:
            # Imported here: only a process with telemetry on counts its queue.
            from stigmer.telemetry.queue import QueueDepth

            services.append(QueueDepth(self.open_backend, telemetry))
        services.extend(options.beside)
        return services

    async def start(self, *, foreground_worker: bool = False) -> None:
        """Start every part; on a failure, stop what started and raise.

        Args:
            foreground_worker: The caller runs the engine's worker on this loop (see :meth:`run`),
                so the services beside the worker start too.
        """
        try:
            await self._start(foreground_worker)
        except BaseException:
            await self.stop(0)
            raise

    async def _start(self, foreground_worker: bool) -> None:
        options = self.options
        if options.policy is not None:
            from stigmer import policy

            policy.install(options.policy)  # the worker here (and the server's checks) follow it
        keys_db = options.api_keys or (options.server.database if options.server else None)
        if self._verify is None and keys_db is not None:
            self.api_keys = ApiKeyStore(keys_db)
        if options.server is not None:
            from stigmer.server.app import StigmerServer

            self.server = StigmerServer(
                options.server,
                open_backend=self.open_backend,
                verify=self._server_verify(),
                keys=self.api_keys,
            )
            await self.server.start()
        self.worker = self._new_worker()
        if self.worker is not None:
            await asyncio.to_thread(self.worker.start)
        if self.worker is not None or foreground_worker:
            for service in self.services_beside_the_worker():
                service.start()
                self.services.append(service)
        if options.dashboard is not None:
            await asyncio.to_thread(self._start_dashboard, options.dashboard)

    def _server_verify(self) -> Callable[[str], Caller | None] | None:
        if self._verify is not None:
            return self._verify
        return self.api_keys.verify if self.api_keys is not None else None

    def _new_worker(self) -> EngineThread | TemporalWorkerThread | None:
        plan = self.options.worker
        if plan is None:
            return None
        if plan.engine == "temporal":
            from stigmer.engine.temporal.worker import TemporalWorkerThread

            return TemporalWorkerThread(
                self.open_backend,
                plan.temporal or TemporalSettings(),
                activities=plan.concurrency,
                work=plan.work,
                run_settings=plan.run_settings,
            )
        if not plan.work:
            return None
        from stigmer.engine.thread import EngineThread

        return EngineThread(self.open_backend, concurrency=plan.concurrency, settings=plan.run_settings)

    def _start_dashboard(self, options: DashboardOptions) -> None:
        from stigmer.ui import Dashboard
        from stigmer.ui.auth import locked

        verify: Callable[[str], Caller | None] | None = None
        if self._verify is not None:
            verify = locked(self._verify)
        elif self.api_keys is not None:
            verify = self.api_keys.verify
        from stigmer.engine.thread import EngineThread

        # Runs started on the dashboard are the host's worker's. Beside a server, they are the
        # server's, as for any of its clients.
        engine = self.worker if isinstance(self.worker, EngineThread) and self.server is None else None
        options.remote = options.remote or self.server is not None
        self.dashboard = Dashboard(
            options, open_backend=self.open_backend, verify=verify, engine=engine
        ).start()

    async def run(
        self, stop: asyncio.Event, *, foreground: Callable[[], Awaitable[Any]] | None = None
    ) -> None:
        """Start, wait for ``stop`` (or for ``foreground``, the engine serving on this loop, to
        end after ``stop``), then stop everything."""
        await self.start(foreground_worker=foreground is not None)
        try:
            if foreground is not None:
                await foreground()
            else:
                await stop.wait()
        finally:
            await self.stop()

    def describe_worker(self) -> str:
        """What runs this host's executions, for people."""
        plan = self.options.worker
        if plan is not None and plan.engine == "temporal":
            s = plan.temporal or TemporalSettings()
            where = f"Temporal at {s.address} (namespace {s.namespace}, task queue {s.task_queue})"
            if plan.work:
                return f"{where}; a Temporal worker runs here too"
            return f"{where}; `stigmer worker --engine temporal` processes run the executions"
        worker_id = getattr(self.worker, "worker_id", "")
        return str(worker_id) if worker_id else "off (--no-worker)"

    async def stop(self, grace: float | None = None) -> None:
        """Stop every part (see the module docstring); safe to call twice."""
        if self.server is not None:
            await self.server.stop(grace)
            self.server = None
        if self.dashboard is not None:
            await asyncio.to_thread(self.dashboard.stop)
            self.dashboard = None
        for service in reversed(self.services):
            await asyncio.to_thread(service.stop)
        self.services.clear()
        if self.worker is not None:
            await asyncio.to_thread(self.worker.stop)
            self.worker = None
        if self.api_keys is not None:
            self.api_keys.close()
            self.api_keys = None


__all__ = ["Host", "HostOptions", "WorkerPlan"]
