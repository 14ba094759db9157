"""A worker of the Temporal engine: Temporal's worker for Stigmer's workflows and
activities, and the bridge that hands queued runs to Temporal. Run as many as you like, on
as many machines: Temporal spreads the work, and takes over the work of one that dies."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import cast

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from stigmer.backend.protocol import Backend, RunJournal
from stigmer.config import TemporalSettings
from stigmer.runners.settings import DEFAULTS, RunSettings

from .activities import StoreActivities
from .control import bridge, connect
from .schedules import ScheduleActivities, StigmerScheduleFire, mirror
from .workflows import StigmerAgent, StigmerWorkflow

# Workflow code imports these outside the sandbox, once: they are deterministic, and
# re-importing protobuf and Stigmer for every workflow run would cost more than the run.
PASSTHROUGH = ("stigmer", "google.protobuf", "cel_expr_python", "yaml")
DEFAULT_ACTIVITIES = 100


def sandbox() -> SandboxedWorkflowRunner:
    """The workflow sandbox, with Stigmer's deterministic modules passed through."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


class TemporalWorker:
    """Runs Stigmer executions that Temporal hands to this process.

    Args:
        client: Connected to the Temporal server.
        backend: The Stigmer store the activities read and write.
        settings: The namespace and task queue.
        activities: Activities run at once (task attempts, agent runs).
        bridge: Also hand queued runs of the store to Temporal (every worker does, by default).
        work: Run workflows and activities (False: only the bridge, for a server whose
            executions other workers run).
        run_settings: The home's run settings (default model, prices), for agent runs.
        schedules: The whole Backend, when there is one: the bridge then mirrors the store's
            Schedules as Temporal Schedules (see stigmer.engine.temporal.schedules).
    """

    def __init__(
        self,
        client: Client,
        backend: RunJournal,
        settings: TemporalSettings,
        *,
        activities: int = DEFAULT_ACTIVITIES,
        bridge: bool = True,
        work: bool = True,
        run_settings: RunSettings = DEFAULTS,
        schedules: Backend | None = None,
    ) -> None:
        self.client = client
        self.backend = backend
        self.schedules = schedules
        self.settings = settings
        self.bridge = bridge
        self.telemetry = run_settings.telemetry
        self.activities = StoreActivities(backend, settings=run_settings)
        self.worker: Worker | None = None
        if not work:
            return
        self.worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[StigmerWorkflow, StigmerAgent, StigmerScheduleFire],
            activities=[*self.activities.all(), *ScheduleActivities(backend).all()],
            workflow_runner=sandbox(),
            max_concurrent_activities=activities,
            # A worker that dies leaves its cached workflows to the others after this long.
            sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
            graceful_shutdown_timeout=timedelta(seconds=0),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; running activities are then cancelled (Temporal tries
        them again on another worker)."""
        bridging = (
            asyncio.create_task(
                bridge(self.client, self.backend, self.settings, stop, telemetry=self.telemetry)
            )
            if self.bridge
            else None
        )
        # Schedules become Temporal Schedules, kept in step with the store by every bridge that
        # can list them (one with a whole Backend).
        mirroring = (
            asyncio.create_task(mirror(self.client, self.schedules, self.settings, stop))
            if self.bridge and self.schedules is not None
            else None
        )
        try:
            if self.worker is None:
                await stop.wait()
            else:
                async with self.worker:
                    await stop.wait()
        finally:
            if bridging is not None:
                await bridging
            if mirroring is not None:
                await mirroring


class TemporalWorkerThread:
    """A :class:`TemporalWorker` on a thread of its own, with its own event loop and backend
    (the server's worker, and tests).

    Args:
        open_backend: Opens the backend the worker uses (on its thread).
        settings: Where Temporal is.
        bridge: Whether it hands queued runs to Temporal.
    """

    def __init__(
        self,
        open_backend: Callable[[], RunJournal],
        settings: TemporalSettings,
        *,
        activities: int = DEFAULT_ACTIVITIES,
        bridge: bool = True,
        work: bool = True,
        run_settings: RunSettings = DEFAULTS,
    ) -> None:
        self.open_backend = open_backend
        self.settings = settings
        self.activities = activities
        self.bridge = bridge
        self.work = work
        self.run_settings = run_settings
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="stigmer-temporal-worker", daemon=True)

    def start(self) -> TemporalWorkerThread:
        """Start it; return once it polls Temporal (raise what stopped it, if anything)."""
        self._thread.start()
        self._ready.wait()
        if self.error is not None:
            raise self.error
        return self

    def _main(self) -> None:
        backend = self.open_backend()
        try:

            async def run() -> None:
                self._loop = asyncio.get_running_loop()
                self._stop = asyncio.Event()
                client = await connect(self.settings)
                worker = TemporalWorker(
                    client,
                    backend,
                    self.settings,
                    activities=self.activities,
                    bridge=self.bridge,
                    work=self.work,
                    run_settings=self.run_settings,
                    # The host opens whole Backends: then the bridge mirrors the Schedules too.
                    schedules=cast(Backend, backend) if hasattr(backend, "list") else None,
                )
                self._ready.set()
                await worker.run(self._stop)

            asyncio.run(run())
        except BaseException as exc:
            self.error = exc
        finally:
            self._ready.set()
            backend.close()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling; activities under way are cancelled."""
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)


__all__ = ["PASSTHROUGH", "TemporalWorker", "TemporalWorkerThread", "sandbox"]
