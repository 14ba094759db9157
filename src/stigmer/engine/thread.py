"""The local engine on a thread of its own, inside `stigmer server` and `stigmer ui`.

A :class:`~stigmer.engine.local.Worker` runs on a thread with its own event loop and its
own backend. It claims queued runs, and runs continued after an approval, like any
`stigmer worker`. Stopping it cancels its runs and keeps their leases: another worker (or
the same process started again) continues each from its last recorded step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from stigmer.backend.protocol import RunJournal
from stigmer.errors import Conflict, Unavailable
from stigmer.runners.settings import DEFAULTS, RunSettings

log = logging.getLogger("stigmer.engine")
RESUME_TIMEOUT_SECONDS = 15.0


class EngineThread:
    """A Worker of the local engine on a thread of its own.

    Args:
        open_backend: Opens the backend the worker uses (on its thread).
        concurrency: Executions run at once.
        settings: The home's run settings (default model, prices).
    """

    def __init__(
        self,
        open_backend: Callable[[], RunJournal],
        *,
        concurrency: int = 2,
        settings: RunSettings = DEFAULTS,
    ) -> None:
        self.open_backend = open_backend
        self.concurrency = concurrency
        self.settings = settings
        self.worker_id = ""
        self._backend: RunJournal | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._resumed: set[asyncio.Task[object]] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="stigmer-worker", daemon=True)

    def start(self) -> EngineThread:
        self._thread.start()
        self._ready.wait()
        return self

    def _main(self) -> None:
        from stigmer.engine.local import Worker

        backend = self.open_backend()
        self._backend = backend
        try:
            worker = Worker(backend, concurrency=self.concurrency, settings=self.settings, drain=False)
            self.worker_id = worker.worker_id

            async def run() -> None:
                self._loop = asyncio.get_running_loop()
                self._stop = asyncio.Event()
                self._ready.set()
                await worker.run(self._stop)
                for task in list(self._resumed):
                    task.cancel()
                await asyncio.gather(*self._resumed, return_exceptions=True)

            asyncio.run(run())
        except Exception:
            log.exception("the worker stopped")
        finally:
            self._ready.set()
            backend.close()

    def resume(self, execution_id: str) -> None:
        """Claim ``execution_id`` now and run it here, from its last recorded step.

        Raises:
            Conflict: Another live worker holds it (or it cannot run: finished, waiting).
            Unavailable: The worker is not running.
        """
        loop = self._loop
        if loop is None or not self._thread.is_alive():
            raise Unavailable("the worker is not running", hint="restart the process that runs it")
        future = asyncio.run_coroutine_threadsafe(self._resume(execution_id), loop)
        if not future.result(RESUME_TIMEOUT_SECONDS):
            raise Conflict(
                f"execution {execution_id} is being run by another worker",
                hint="it continues there; a run whose worker died is taken over once its lease expires",
            )

    async def _resume(self, execution_id: str) -> bool:
        from stigmer.engine.local import lease_seconds, new_worker_id, run_execution

        backend = self._backend
        assert backend is not None
        # A worker id of its own: a run this thread's Worker already holds is refused, not run twice.
        worker_id = new_worker_id()
        claimed = backend.claim_execution(worker_id, lease_seconds=lease_seconds(), execution_id=execution_id)
        if claimed is None:
            return False
        task: asyncio.Task[object] = asyncio.create_task(
            run_execution(
                backend,
                claimed,
                worker_id=worker_id,
                settings=self.settings,
                keep_lease_on_cancel=True,
            )
        )
        self._resumed.add(task)
        task.add_done_callback(self._resumed.discard)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; cancel running executions, which keep their leases."""
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)


__all__ = ["EngineThread"]
