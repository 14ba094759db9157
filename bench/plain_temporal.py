"""Plain temporalio workflows with trivial activities: the baseline of ``bench_temporal.py``.

They mirror the benchmark's Stigmer workflows task for task: a chain of N activities, each
adding one to the previous one's value, and a fan-out of N independent activities then one
join activity. Kept in a module of their own, which imports only temporalio, as workflow
code is re-imported in Temporal's sandbox.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow

TIMEOUT = timedelta(minutes=5)


@activity.defn(name="plain.step")
async def step(value: int) -> int:
    """The trivial activity: one more than its input."""
    return value + 1


@workflow.defn(name="PlainChain")
class PlainChain:
    """t0 returns 0; each next activity adds one to the previous one's result."""

    @workflow.run
    async def run(self, n: int) -> int:
        value = await workflow.execute_activity(step, -1, start_to_close_timeout=TIMEOUT)
        for _ in range(1, n):
            value = await workflow.execute_activity(step, value, start_to_close_timeout=TIMEOUT)
        return value


@workflow.defn(name="PlainFanOut")
class PlainFanOut:
    """N independent activities at once, then a join on the last one's result."""

    @workflow.run
    async def run(self, n: int) -> int:
        results = await asyncio.gather(
            *(workflow.execute_activity(step, i - 1, start_to_close_timeout=TIMEOUT) for i in range(n))
        )
        return await workflow.execute_activity(step, results[-1], start_to_close_timeout=TIMEOUT)


__all__ = ["PlainChain", "PlainFanOut", "step"]
