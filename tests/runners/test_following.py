"""Following a run another process runs: the follower sees its end as soon as the engine that
runs it knows, not at its next poll of the store (a real SQLite store; a real Temporal dev
server for the Temporal engine)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.local import LocalBackend
from stigmer.engine import drive as driving
from stigmer.engine.drive import drive, new_worker_id, run_claimed
from stigmer.runners.events import DriveEvent, PhaseChanged
from tests.builders import workflow, workflow_execution
from tests.fixtures.temporal import DevServer

# Longer than any test may take: a follower that waited for its poll would time the test out.
NEVER = 3600.0
PATIENCE = 60.0
TASKS = [
    {"name": "first", "set": {"n": "${workflow.inputs.count}"}},
    {"name": "second", "dependsOn": ["first"], "set": {"n": "${tasks.first.outputs.n + 1}"}},
]


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[LocalBackend]:
    opened = LocalBackend.open(tmp_path / "local.db", durability="normal")
    outputs = {"n": "${tasks.second.outputs.n}"}
    opened.apply([workflow("pair", TASKS, inputs={"count": "integer"}, outputs=outputs)])
    yield opened
    opened.close()


async def _phases(events: AsyncIterator[DriveEvent]) -> list[str]:
    return [
        ExecutionPhase.Name(event.execution.status.phase)
        async for event in events
        if isinstance(event, PhaseChanged)
    ]


def test_a_follower_reads_the_record_when_the_engine_says_the_run_ended(backend: LocalBackend) -> None:
    execution_id = backend.create_execution(workflow_execution("pair", inputs={"count": 1})).metadata.id
    worker = new_worker_id()
    backend.claim_execution(worker, execution_id=execution_id)  # another process runs it

    async def main() -> list[str]:
        ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        following = asyncio.ensure_future(
            _phases(drive(backend, execution_id, run_here=False, poll_seconds=NEVER, ended=ended))
        )
        await run_claimed(backend, execution_id, worker_id=worker)
        ended.set_result(None)
        return await asyncio.wait_for(following, PATIENCE)

    assert asyncio.run(main()) == ["RUNNING", "COMPLETED"]


def test_a_run_on_temporal_is_seen_finished_when_its_workflow_ends(
    backend: LocalBackend, temporal_server: DevServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stigmer.config import TemporalSettings
    from stigmer.engine.temporal.engine import TemporalEngine
    from stigmer.engine.temporal.worker import TemporalWorkerThread

    settings = TemporalSettings(address=temporal_server.address, task_queue=f"follow-{new_worker_id()}")
    worker = TemporalWorkerThread(
        lambda: LocalBackend.open(tmp_path / "local.db", durability="normal"), settings, bridge=False
    ).start()
    monkeypatch.setattr(driving, "POLL_SECONDS", NEVER)
    engine = TemporalEngine(settings)
    counts, ids = (1, 2), []
    try:

        async def main() -> list[list[str]]:
            seen = []
            for count in counts:  # the engine's client serves every run seen through on this loop
                execution_id = backend.create_execution(
                    workflow_execution("pair", inputs={"count": count})
                ).metadata.id
                ids.append(execution_id)
                events = engine.drive(backend, execution_id, watch_tasks=False)
                seen.append(await asyncio.wait_for(_phases(events), PATIENCE))
            return seen

        assert asyncio.run(main()) == [["RUNNING", "COMPLETED"], ["RUNNING", "COMPLETED"]]
    finally:
        worker.stop()
    assert [dict(backend.get_execution(i).status.outputs)["n"] for i in ids] == [2, 3]
