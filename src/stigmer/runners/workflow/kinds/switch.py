"""The ``switch`` task: enable the tasks of the first case whose condition holds (else
those of ``default``); the tasks it gates and did not choose are skipped."""

from __future__ import annotations

from typing import Any

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.runners.workflow.attempt import Attempt
from stigmer.runners.workflow.kinds.base import Attempts, Fields, TaskCall, TaskKind
from stigmer.runners.workflow.kinds.registry import register


class SwitchKind(TaskKind):
    """``switch: {cases: [{when, then: [TASK…]}…], default: [TASK…]}``."""

    field = "switch"
    label = "switch"
    inline = True

    def condition_fields(self, task: Task) -> list[tuple[str, str]]:
        return [(f"switch.cases[{c}].when", case.when) for c, case in enumerate(task.switch.cases)]

    def targets(self, task: Task) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        for c, case in enumerate(task.switch.cases):
            found += [(f"switch.cases[{c}].then[{j}]", t, case.when) for j, t in enumerate(case.then)]
        found += [(f"switch.default[{j}]", t, "default") for j, t in enumerate(task.switch.default)]
        return found

    async def begin(self, run: Attempts, call: Attempt, started: TaskCall, fields: Fields) -> dict[str, Any]:
        for i, case in enumerate(call.task.switch.cases):
            if fields.condition(case.when, f"switch.cases[{i}].when"):
                return {"enabled": list(case.then), "case": i}
        return {"enabled": list(call.task.switch.default), "case": "default"}


register(SwitchKind())

__all__ = ["SwitchKind"]
