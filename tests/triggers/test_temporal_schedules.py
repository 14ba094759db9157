"""On a real Temporal dev server: a Schedule becomes a Temporal Schedule that fires, and follows
an update (pause) and a delete."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stigmer.api.schedule.v1.schedule_pb2 import Schedule
from stigmer.backend.local import LocalBackend
from stigmer.config import TemporalSettings
from stigmer.triggers.schedules import schedule_runs
from tests.builders import build, workflow

if TYPE_CHECKING:
    from stigmer.engine.temporal.devserver import DevServer


def _eventually(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what}")


def test_a_schedule_fires_on_temporal_and_follows_a_pause_and_a_delete(
    tmp_path: Path, temporal_server: DevServer
) -> None:
    from stigmer.engine.temporal.control import connect
    from stigmer.engine.temporal.schedules import schedule_id
    from stigmer.engine.temporal.worker import TemporalWorkerThread

    settings = TemporalSettings(address=temporal_server.address, task_queue=f"sched-{uuid.uuid4().hex[:10]}")
    path = tmp_path / "local.db"
    backend = LocalBackend.open(path)
    backend.apply(
        [workflow("digest"), build(Schedule, "every-second", {"every": "1s", "workflow": "digest"})]
    )
    worker = TemporalWorkerThread(lambda: LocalBackend.open(path), settings).start()
    sid = schedule_id("every-second", settings)

    async def described() -> Any:
        from temporalio.service import RPCError, RPCStatusCode

        client = await connect(settings)
        try:
            return await client.get_schedule_handle(sid).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return None
            raise

    def describe() -> Any:
        return asyncio.run(described())

    try:
        fired = _eventually(lambda: (d := describe()) and d.info.num_actions >= 1 and d, "Temporal fired it")
        assert fired.schedule.spec.intervals[0].every.total_seconds() == 1
        _eventually(lambda: schedule_runs(backend, "every-second"), "a run in the store")

        paused = backend.get(Schedule, "every-second")
        paused.spec.paused = True
        paused.ClearField("status")
        backend.update(paused)
        _eventually(lambda: (d := describe()) and d.schedule.state.paused, "the Temporal Schedule paused")

        backend.delete(Schedule, "every-second")
        _eventually(lambda: describe() is None, "the Temporal Schedule deleted")
    finally:
        worker.stop()
        backend.close()
