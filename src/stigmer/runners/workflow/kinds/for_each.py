"""The ``forEach`` task: run its ``do`` task once per item (``item`` and ``index`` in its
expressions), at most ``concurrency`` at once (default 4).

Each item is journalled under ``NAME[i]`` and keeps its own attempts; a resumed run
re-runs no item that ended. Its outputs are ``{results: [outputs of each item]}``; an
item that fails (after its retries and onError) fails the task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.errors import InvalidArgument
from stigmer.resources.workflow_steps import item_key
from stigmer.runners.workflow.attempt import Attempt, Begun, Failure
from stigmer.runners.workflow.journal import Outcome
from stigmer.runners.workflow.kinds.base import Attempts, Fields, TaskCall, TaskError, TaskKind, Walk
from stigmer.runners.workflow.kinds.registry import kind_of, register

DEFAULT_FOREACH_CONCURRENCY = 4


class ForEachKind(TaskKind):
    """``forEach: {items: ${…}, do: TASK, concurrency: N}``."""

    field = "for_each"
    label = "forEach"
    durable = True
    item_names = ("item", "index")

    def normalise(self, body: Any, task: Callable[[Any], None]) -> None:
        if isinstance(body, dict):
            task(body.get("do"))

    def validate(self, task: Task, field: str) -> None:
        if not task.for_each.items:
            raise InvalidArgument(
                "forEach needs items (an expression that yields a list)", field=f"{field}.forEach.items"
            )
        if not task.for_each.HasField("do"):
            raise InvalidArgument("forEach needs a task to run per item", field=f"{field}.forEach.do")

    def item_task(self, task: Task) -> Task | None:
        return task.for_each.do if task.for_each.HasField("do") else None

    def value_fields(self, task: Task) -> list[tuple[str, Any]]:
        return [("forEach.items", task.for_each.items)]

    def describe(self, task: Task) -> str:
        do = task.for_each.do
        inner = kind_of(do)
        return f"forEach {task.for_each.items} → {inner.describe(do) if inner else '?'}"

    def items(self, task: Task, fields: Fields) -> list[Any]:
        items = fields.value(task.for_each.items, "forEach.items")
        if not isinstance(items, list):
            raise TaskError(
                "INVALID_ITEMS",
                f"forEach.items must yield a list, got {type(items).__name__}: {str(items)[:100]}",
                retryable=False,
            )
        return items

    async def begin(self, run: Attempts, call: Attempt, started: TaskCall, fields: Fields) -> Begun:
        items = self.items(call.task, fields)
        run.record_start(started, items=len(items))
        return Begun(self.field, items=items)

    async def wait(
        self, walk: Walk, call: Attempt, begun: Begun
    ) -> tuple[dict[str, Any] | None, Failure | None]:
        spec = call.task.for_each
        limit = asyncio.Semaphore(spec.concurrency or DEFAULT_FOREACH_CONCURRENCY)
        do = spec.do

        async def one(index: int, item: Any) -> Outcome:
            key = item_key(call.key, index)
            recorded = walk.recorded(key)
            if recorded is not None:
                return recorded
            async with limit:
                extra = {"item": item, "index": index} if begun.exact else {"index": index}
                return await walk.attempts(do, key, extra)

        results = await asyncio.gather(*(one(i, item) for i, item in enumerate(begun.items)))
        failed = [(i, r) for i, r in enumerate(results) if not r.ok]
        if failed:
            i, outcome = failed[0]
            message = f"item {i} failed: {outcome.error}"
            return None, Failure(outcome.code or "ITEM_FAILED", message, retryable=False)
        return {"results": [r.outputs for r in results]}, None


register(ForEachKind())

__all__ = ["DEFAULT_FOREACH_CONCURRENCY", "ForEachKind"]
