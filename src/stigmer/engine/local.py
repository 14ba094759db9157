"""The local engine's worker: executions claimed with leases from the store, run by asyncio
tasks (claiming and running one run is :mod:`stigmer.engine.drive`'s, re-exported here).

A claimed execution's lease is renewed while it runs; a process that dies leaves a lease
that expires (or is seen to belong to a dead process on this host), and the next
worker, or ``stigmer execution resume``, continues from the last recorded step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from stigmer.backend.protocol import RunJournal
from stigmer.engine.drive import lease_seconds, new_worker_id, run_claimed, run_execution
from stigmer.resources.kinds import Execution
from stigmer.runners.settings import DEFAULTS, RunSettings

KINDS = ("AgentExecution", "WorkflowExecution")


class Worker:
    """Claims queued executions (agents and workflows) and runs up to ``concurrency`` of them at once.

    Args:
        drain: When stopped, let running executions finish (the default), or cancel them and
            keep their leases, so that another worker continues them (a server shutting down).
    """

    def __init__(
        self,
        backend: RunJournal,
        *,
        concurrency: int = 1,
        poll_seconds: float = 0.5,
        settings: RunSettings = DEFAULTS,
        on_done: Callable[[Execution], None] | None = None,
        drain: bool = True,
    ) -> None:
        self.backend = backend
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.settings = settings
        self.on_done = on_done
        self.drain = drain
        self.worker_id = new_worker_id()
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; then running executions finish first (or are left, see ``drain``)."""
        running: set[asyncio.Task[Execution]] = set()
        self._wake = asyncio.Event()
        while not stop.is_set():
            # Cleared before looking for work: a run that ends from here on wakes the wait below.
            self._wake.clear()
            claimed = None
            if len(running) < self.concurrency:
                claimed = self.backend.claim_execution(
                    self.worker_id, kinds=KINDS, lease_seconds=lease_seconds()
                )
            if claimed is not None:
                task = asyncio.create_task(
                    run_execution(
                        self.backend,
                        claimed,
                        worker_id=self.worker_id,
                        settings=self.settings,
                        keep_lease_on_cancel=not self.drain,
                    )
                )
                running.add(task)
                task.add_done_callback(self._done(running))
                continue
            # Nothing to claim (poll again soon), or no free slot (wait for a run to end).
            timeout = self.poll_seconds if len(running) < self.concurrency else None
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()
        if running and not self.drain:
            for task in list(running):
                task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    def _done(self, running: set[asyncio.Task[Execution]]) -> Callable[[asyncio.Task[Execution]], None]:
        def callback(task: asyncio.Task[Execution]) -> None:
            running.discard(task)
            self._wake.set()
            if self.on_done and not task.cancelled() and task.exception() is None:
                self.on_done(task.result())

        return callback


__all__ = ["Worker", "lease_seconds", "new_worker_id", "run_claimed", "run_execution"]
