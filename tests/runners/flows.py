"""Apply workflows and run them on an engine, as a worker would: the harness that lets one
behaviour test prove the same thing of the local engine and of the Temporal engine.

- ``local``: each run is claimed and run in this process (``run_claimed``).
- ``temporal``: a Temporal worker (Stigmer's workflows and activities) runs on a thread of
  this process, against a real Temporal dev server on 127.0.0.1 and the same store (the
  test's backend: a local file, or a server). The harness hands each run to Temporal, as
  the bridge of ``stigmer worker --engine temporal`` does, and waits for its record to end
  or wait for a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import Backend
from stigmer.config import TemporalSettings
from stigmer.engine.local import run_claimed
from stigmer.errors import Conflict
from stigmer.runners.settings import DEFAULTS, RunSettings
from tests.builders import workflow, workflow_execution
from tests.runners.conftest import WORKER

if TYPE_CHECKING:
    from stigmer.engine.temporal.worker import TemporalWorkerThread

P = ExecutionPhase
SETTLED = (P.COMPLETED, P.FAILED, P.CANCELLED, P.WAITING_APPROVAL)
FINISHED = (P.COMPLETED, P.FAILED, P.CANCELLED)
WAIT_SECONDS = 60.0


class Flows:
    """Apply workflows and run them on one engine."""

    engine = "local"

    def __init__(self, backend: Backend, tmp_path: Path, settings: RunSettings = DEFAULTS) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.settings = settings

    def apply(self, name: str, tasks: list[dict[str, Any]], **spec: Any) -> None:
        self.backend.apply([workflow(name, tasks, **spec)])

    def start(self, name: str, **spec: Any) -> str:
        return self.backend.create_execution(workflow_execution(name, **spec)).metadata.id

    def resume(self, execution_id: str) -> WorkflowExecution:
        """Run the execution until it ends or waits for a person."""
        asyncio.run(run_claimed(self.backend, execution_id, worker_id=WORKER, settings=self.settings))
        return self.get(execution_id)

    def get(self, execution_id: str) -> WorkflowExecution:
        found = self.backend.get_execution(execution_id)
        assert isinstance(found, WorkflowExecution)
        return found

    def run(self, name: str, **spec: Any) -> WorkflowExecution:
        return self.resume(self.start(name, **spec))

    def file(self, name: str) -> str:
        return str(self.tmp_path / name)

    def cancel_while_running(self, execution_id: str, after: float) -> WorkflowExecution:
        """Start the run, cancel it after ``after`` seconds, and return it once it stopped."""

        async def cancel_soon() -> None:
            task = asyncio.create_task(run_claimed(self.backend, execution_id, worker_id=WORKER))
            await asyncio.sleep(after)
            self.backend.cancel_execution(execution_id)
            await asyncio.wait_for(task, timeout=10)

        asyncio.run(cancel_soon())
        return self.get(execution_id)

    def cancel(self, execution_id: str) -> WorkflowExecution:
        """Cancel a run that is not running (queued, or waiting for a person); return it cancelled."""
        cancelled = self.backend.cancel_execution(execution_id)
        assert isinstance(cancelled, WorkflowExecution)
        return cancelled

    def die_while_running(self, execution_id: str, after: float) -> None:
        """Start the run, and let its worker die after ``after`` seconds."""

        async def die() -> None:
            task = asyncio.create_task(run_claimed(self.backend, execution_id, worker_id=WORKER))
            await asyncio.sleep(after)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        asyncio.run(die())

    def close(self) -> None:
        pass


class TemporalFlows(Flows):
    """The same, on the Temporal engine: a worker thread, and this harness as its bridge."""

    engine = "temporal"

    def __init__(
        self,
        backend: Backend,
        tmp_path: Path,
        address: str,
        open_backend: Callable[[], Backend],
        settings: RunSettings = DEFAULTS,
    ) -> None:
        super().__init__(backend, tmp_path, settings)
        # A task queue of its own: no other test's worker takes its runs.
        self.temporal = TemporalSettings(address=address, task_queue=f"test-{uuid.uuid4().hex[:12]}")
        self.open_backend = open_backend
        self.worker: TemporalWorkerThread | None = None
        self.start_worker()

    def start_worker(self) -> None:
        from stigmer.engine.temporal.worker import TemporalWorkerThread

        self.worker = TemporalWorkerThread(
            self.open_backend, self.temporal, bridge=False, run_settings=self.settings
        ).start()

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def submit(self, execution_id: str) -> None:
        """Hand the run to Temporal, as the bridge does (nothing when it cannot be claimed)."""
        from stigmer.engine.temporal.control import connect, submit

        async def main() -> None:
            client = await connect(self.temporal)
            with contextlib.suppress(Conflict):
                await submit(client, self.backend, execution_id, self.temporal, self.settings.telemetry)

        asyncio.run(main())

    def wait(
        self, execution_id: str, until: tuple[ExecutionPhase.ValueType, ...] = SETTLED
    ) -> WorkflowExecution:
        """Poll the record until its phase is one of ``until``; a run queued again (a cancel,
        a decision) is handed to Temporal meanwhile."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            current = self.get(execution_id)
            if current.status.phase in until:
                return current
            if current.status.phase == P.PENDING:
                self.submit(execution_id)
            time.sleep(0.02)
        raise AssertionError(f"{execution_id} is still {P.Name(self.get(execution_id).status.phase)}")

    def resume(self, execution_id: str) -> WorkflowExecution:
        self.submit(execution_id)
        return self.wait(execution_id)

    def cancel_while_running(self, execution_id: str, after: float) -> WorkflowExecution:
        self.submit(execution_id)
        time.sleep(after)
        self.backend.cancel_execution(execution_id)
        return self.wait(execution_id, FINISHED)

    def cancel(self, execution_id: str) -> WorkflowExecution:
        # The engine that holds the run ends it (within a moment), with Temporal's cancellation.
        self.backend.cancel_execution(execution_id)
        return self.wait(execution_id, FINISHED)

    def die_while_running(self, execution_id: str, after: float) -> None:
        self.submit(execution_id)
        time.sleep(after)
        self.stop_worker()
        self.start_worker()

    def close(self) -> None:
        self.stop_worker()


__all__ = ["FINISHED", "SETTLED", "Flows", "TemporalFlows"]
