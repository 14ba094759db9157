"""The local engine: executions claimed with leases from the store, run by asyncio tasks.

A claimed execution's lease is renewed while it runs; a process that dies leaves a lease
that expires (or is seen to belong to a dead process on this host), and the next
worker, or ``stigmer execution resume``, continues from the last recorded step.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import Callable

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.backend.protocol import RunJournal
from stigmer.errors import Conflict
from stigmer.resources.kinds import Execution
from stigmer.runners.agent.events import EventSink, ignore
from stigmer.runners.agent.runner import AgentRunner

KINDS = ("AgentExecution", "WorkflowExecution")


def lease_seconds() -> int:
    """How long a lease lasts without renewal (``STIGMER_LEASE_SECONDS``, default 30)."""
    return int(os.environ.get("STIGMER_LEASE_SECONDS", "30"))


def new_worker_id() -> str:
    """A worker id naming this host and process, so a dead worker can be recognised."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def _heartbeat(backend: RunJournal, execution_id: str, worker_id: str, seconds: int) -> None:
    while True:
        await asyncio.sleep(max(seconds / 3, 0.05))
        if not backend.renew_lease(execution_id, worker_id, lease_seconds=seconds):
            return  # lost it: the fenced writes of the run will stop it


async def run_execution(
    backend: RunJournal,
    execution: Execution,
    *,
    worker_id: str,
    on_event: EventSink = ignore,
    config_model: str = "",
    keep_lease_on_cancel: bool = False,
) -> Execution:
    """Run an execution this worker has claimed, renewing its lease meanwhile.

    With ``keep_lease_on_cancel``, a run cancelled mid-way (a server shutting down) keeps its
    lease: another worker takes it over from its last recorded step once the lease expires.
    """
    from stigmer.engine.drive import run_to_stop

    async def child(child_id: str) -> Execution:
        # A child run goes the way every run goes: claimed here, or followed while another
        # worker holds it, until it ends or waits for a person.
        return await run_to_stop(backend, child_id, worker_id=worker_id, config_model=config_model)

    seconds = lease_seconds()
    beat = asyncio.create_task(_heartbeat(backend, execution.metadata.id, worker_id, seconds))
    cancelled = False
    try:
        if isinstance(execution, AgentExecution):
            runner = AgentRunner(
                backend, worker_id=worker_id, on_event=on_event, config_model=config_model, run_child=child
            )
            return await runner.run(execution)
        from stigmer.runners.workflow.runner import WorkflowRunner

        return await WorkflowRunner(backend, worker_id=worker_id, run_child=child).run(execution)
    except asyncio.CancelledError:
        cancelled = True
        raise
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        if not (cancelled and keep_lease_on_cancel):
            backend.release_execution(execution.metadata.id, worker_id)


async def run_claimed(
    backend: RunJournal,
    execution_id: str,
    *,
    worker_id: str,
    on_event: EventSink = ignore,
    config_model: str = "",
) -> Execution:
    """Claim one execution (agent or workflow) and run it here.

    Raises:
        Conflict: Another live worker holds it, or it is finished or waiting for approval.
    """
    claimed = backend.claim_execution(worker_id, lease_seconds=lease_seconds(), execution_id=execution_id)
    if claimed is None:
        raise Conflict(
            f"execution {execution_id} is being run by another worker",
            hint=f"follow it with `stigmer execution logs {execution_id} -f`",
        )
    return await run_execution(
        backend, claimed, worker_id=worker_id, on_event=on_event, config_model=config_model
    )


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
        config_model: str = "",
        on_done: Callable[[Execution], None] | None = None,
        drain: bool = True,
    ) -> None:
        self.backend = backend
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.config_model = config_model
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
                        config_model=self.config_model,
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
