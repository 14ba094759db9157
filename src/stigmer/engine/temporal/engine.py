"""The Temporal engine behind the engine interface (:class:`stigmer.engine.engines.Engine`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast

from stigmer.backend.protocol import Backend, RunJournal
from stigmer.config import TemporalSettings
from stigmer.engine import OnDone
from stigmer.errors import Conflict
from stigmer.runners.settings import DEFAULTS, RunSettings

if TYPE_CHECKING:
    from temporalio.client import Client

    from stigmer.runners.events import DriveEvent

from .control import connect, submit, workflow_end
from .worker import TemporalWorker


class TemporalEngine:
    """Runs executions as Temporal workflows.

    Args:
        temporal: Where the Temporal server is, and the namespace and task queue.
        settings: The home's run settings (default model, prices), for agent runs.
    """

    name = "temporal"
    runs_here = False

    def __init__(self, temporal: TemporalSettings, *, settings: RunSettings = DEFAULTS) -> None:
        self.temporal = temporal
        self.settings = settings
        self._connected: tuple[asyncio.AbstractEventLoop, Client] | None = None

    def submit(self, backend: RunJournal, execution_id: str) -> None:
        async def main() -> None:
            client = await connect(self.temporal)
            await submit(client, backend, execution_id, self.temporal, self.settings.telemetry)

        asyncio.run(main())

    async def serve(
        self, backend: RunJournal, stop: asyncio.Event, *, concurrency: int, on_done: OnDone | None = None
    ) -> None:
        client = await connect(self.temporal)
        # `stigmer worker` hands in its whole Backend: its bridge also mirrors the Schedules.
        schedules = cast(Backend, backend) if hasattr(backend, "list") else None
        worker = TemporalWorker(
            client,
            backend,
            self.temporal,
            activities=concurrency,
            run_settings=self.settings,
            schedules=schedules,
        )
        await worker.run(stop)

    async def drive(
        self,
        backend: RunJournal,
        execution_id: str,
        *,
        run_here: bool = True,
        after_sequence: int | None = None,
        wait_for_decision: bool = False,
        watch_tasks: bool = True,
    ) -> AsyncIterator[DriveEvent]:
        """Hand the run to Temporal (when it is queued) and follow its record; nothing runs here.
        The follower reads the record as soon as the run's workflow ends, not at its next poll."""
        from stigmer.engine import drive as driving

        ended: asyncio.Future[None] | None = None
        if run_here:
            client = await self._client()
            with contextlib.suppress(Conflict):
                await submit(client, backend, execution_id, self.temporal, self.settings.telemetry)
            ended = asyncio.ensure_future(workflow_end(client, execution_id))
        try:
            async for event in driving.drive(
                backend,
                execution_id,
                run_here=False,
                settings=self.settings,
                after_sequence=after_sequence,
                wait_for_decision=wait_for_decision,
                watch_tasks=watch_tasks,
                poll_seconds=driving.POLL_SECONDS,
                ended=ended,
            ):
                yield event
        finally:
            if ended is not None:
                ended.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ended

    async def _client(self) -> Client:
        """This engine's client of Temporal on the running event loop (connected once per loop:
        a process that sees many runs through, such as an SDK caller, connects once)."""
        loop = asyncio.get_running_loop()
        if self._connected is None or self._connected[0] is not loop:
            self._connected = (loop, await connect(self.temporal))
        return self._connected[1]

    def describe(self) -> str:
        s = self.temporal
        return f"Temporal at {s.address} (namespace {s.namespace}, task queue {s.task_queue})"


__all__ = ["TemporalEngine"]
