"""Schedules on a real SQLite home and a clock the test sets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.schedule.v1.schedule_pb2 import Schedule
from stigmer.backend.local import LocalBackend
from stigmer.resources.kinds import Execution
from tests.builders import build, workflow
from tests.clock import FakeClock


class SetClock(FakeClock):
    """A clock at a time the test sets (each reading a millisecond later, so writes stay ordered)."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start, timedelta(milliseconds=1))

    def set(self, when: datetime) -> None:
        self.now = when.astimezone(UTC)


@pytest.fixture
def set_clock() -> SetClock:
    return SetClock(datetime(2025, 1, 6, 8, 0, tzinfo=UTC))


@pytest.fixture
def home(tmp_path: Path, set_clock: SetClock) -> Iterator[LocalBackend]:
    backend = LocalBackend.open(tmp_path / "local.db", clock=set_clock)
    backend.apply(
        [
            workflow(
                "digest",
                [{"name": "gather", "set": {"week": "${workflow.inputs.week}"}}],
                inputs={"week": "string"},
            )
        ]
    )
    yield backend
    backend.close()


def schedule(name: str = "weekly-digest", **spec: Any) -> Schedule:
    """A schedule of the digest workflow, its week the fire time, unless spec says otherwise."""
    spec.setdefault("workflow", "digest")
    if spec["workflow"]:
        spec.setdefault("inputs", {"week": "${schedule.fireTime}"})
    return build(Schedule, name, spec)


def finish(backend: LocalBackend, run: Execution, at: datetime) -> None:
    """Mark a run COMPLETED at ``at``, as a worker would."""
    current = backend.get_execution(run.metadata.id)
    current.status.phase = ExecutionPhase.COMPLETED
    current.status.end_time.FromDatetime(at.astimezone(UTC))
    backend.update_execution_status(current)
