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
    from stigmer.runners.events import DriveEvent

from .control import connect, submit
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
        """Hand the run to Temporal (when it is queued) and follow its record; nothing runs here."""
        from stigmer.engine.drive import drive

        if run_here:
            with contextlib.suppress(Conflict):
                client = await connect(self.temporal)
                await submit(client, backend, execution_id, self.temporal, self.settings.telemetry)
        async for event in drive(
            backend,
            execution_id,
            run_here=False,
            settings=self.settings,
            after_sequence=after_sequence,
            wait_for_decision=wait_for_decision,
            watch_tasks=watch_tasks,
        ):
            yield event

    def describe(self) -> str:
        s = self.temporal
        return f"Temporal at {s.address} (namespace {s.namespace}, task queue {s.task_queue})"


__all__ = ["TemporalEngine"]
