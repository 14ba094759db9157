"""On PostgreSQL a server's watch wakes when the run changes, whichever process wrote it:
here the server never polls on its own, and the watch still sees every step as it happens."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest

from stigmer.api.backend.v1.backend_pb2 import ExecutionEvent
from stigmer.backend.local import LocalBackend
from stigmer.secrets.keys import MasterKeys
from stigmer.server import servicer
from tests.clock import FakeClock
from tests.conformance.test_watch import WORKER, _claimed, _describe, _finish, _step
from tests.server.embedded import served_remote


def _next(seen: queue.Queue[ExecutionEvent | None]) -> tuple[str, str]:
    event = seen.get(timeout=30)  # the server's own poll would take an hour
    assert event is not None
    return _describe(event)


def test_a_watch_through_one_server_follows_what_another_process_writes(
    postgres_url: str, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(servicer, "FED_WATCH_POLL_SECONDS", 3600.0)  # only notifications wake it
    remote = served_remote(postgres_url, clock, keys=MasterKeys(tmp_path))
    elsewhere = LocalBackend.open(postgres_url, clock=clock, keys=MasterKeys(tmp_path))
    seen: queue.Queue[ExecutionEvent | None] = queue.Queue()
    try:
        run = _claimed(elsewhere)
        execution_id = run.metadata.id

        def watch() -> None:
            for event in remote.watch_execution(execution_id):
                seen.put(event)
            seen.put(None)

        watcher = threading.Thread(target=watch)
        watcher.start()
        assert _next(seen) == ("phase", "RUNNING")
        for number, name in enumerate(["model", "tool:find_order", "model"], start=1):
            elsewhere.record_step(_step(execution_id, number, name), worker_id=WORKER)
            assert _next(seen) == (f"step {number} {name}", "completed")
        _finish(elsewhere, run)
        assert _next(seen) == ("phase", "COMPLETED")
        assert seen.get(timeout=30) is None
        watcher.join(10)
    finally:
        elsewhere.close()
        remote.close()
