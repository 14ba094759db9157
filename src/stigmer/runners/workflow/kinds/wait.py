"""The ``wait`` task: a durable timer. Its deadline is journalled when it starts, so a run
resumed after a crash waits only for what is left; its outputs are ``{until}``."""

from __future__ import annotations

from typing import Any

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.resources.durations import parse_duration
from stigmer.runners.workflow.attempt import Attempt, Begun, Failure
from stigmer.runners.workflow.kinds.base import Attempts, Fields, TaskCall, TaskKind, Walk, deadline
from stigmer.runners.workflow.kinds.registry import register


class WaitKind(TaskKind):
    """``wait: {duration: 5m}``."""

    field = "wait"
    label = "wait"
    durable = True

    def describe(self, task: Task) -> str:
        return f"wait {task.wait.duration}"

    async def begin(self, run: Attempts, call: Attempt, started: TaskCall, fields: Fields) -> Begun:
        until = str(started.started.get("until", ""))
        if not until:
            seconds = parse_duration(call.task.wait.duration, field=f"{fields.where}.wait.duration")
            until = deadline(run.now(), seconds)
            run.record_start(started, until=until)
        return Begun(self.field, until=until)

    async def wait(
        self, walk: Walk, call: Attempt, begun: Begun
    ) -> tuple[dict[str, Any] | None, Failure | None]:
        await walk.sleep_until(begun.until)
        return {"until": begun.until}, None


register(WaitKind())

__all__ = ["WaitKind"]
