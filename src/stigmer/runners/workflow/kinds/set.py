"""The ``set`` task: compute values (``${…}`` expressions or constants); the map is its outputs."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.resources.codec import to_dict
from stigmer.resources.steps import plain
from stigmer.runners.workflow.attempt import Attempt
from stigmer.runners.workflow.kinds.base import Attempts, Fields, TaskCall, TaskKind
from stigmer.runners.workflow.kinds.registry import register


class SetKind(TaskKind):
    """``set: {KEY: VALUE}``."""

    field = "set"
    label = "set"
    inline = True

    def value_fields(self, task: Task) -> list[tuple[str, Any]]:
        return [("set", json_format.MessageToDict(task.set))]

    async def begin(self, run: Attempts, call: Attempt, started: TaskCall, fields: Fields) -> dict[str, Any]:
        return dict(fields.value(plain(to_dict(call.task.set)), "set") or {})


register(SetKind())

__all__ = ["SetKind"]
