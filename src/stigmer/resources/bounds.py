"""Bounds of a task's durations and counts, checked when a workflow is applied, so that
`timeout: forever` or `retry: {maxAttempts: -1}` is refused then, not when it runs."""

from __future__ import annotations

import math

from stigmer.api.agentexecution.v1.agentexecution_pb2 import ExecutionLimits
from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.errors import InvalidArgument
from stigmer.resources.durations import parse_duration

# A year: longer is a mistake (and beyond what timers and leases are tested with).
MAX_DURATION_SECONDS = 366 * 86400
MAX_ATTEMPTS = 100
MAX_CONCURRENCY = 1000
MAX_MULTIPLIER = 100.0
MAX_TURNS = 10_000


def check_duration(text: str, field: str, *, zero: bool = False) -> None:
    """Refuse a duration past a year, or not more than 0 (unless ``zero``); ``${…}`` passes."""
    if not text or "${" in text:
        return  # unset, or computed when the task runs (checked then)
    seconds = parse_duration(text, field=field)
    if seconds > MAX_DURATION_SECONDS or (seconds <= 0 and not zero):
        raise InvalidArgument(
            f"{text!r} is out of bounds: a duration here is more than 0 and at most 366d",
            field=field,
            hint="write e.g. 30s, 5m, 1h30m or 7d",
        )


def check_count(value: int | float, field: str, low: float, high: float, what: str) -> None:
    """Refuse a count outside ``low``..``high``."""
    if not low <= value <= high:
        raise InvalidArgument(f"{what} must be from {low:g} to {high:g}, not {value:g}", field=field)


def check_task_bounds(task: Task, field: str) -> None:
    """Refuse a duration or count every task has (timeout, retry) that cannot work.

    Raises:
        InvalidArgument: One is malformed or out of bounds; the field is named.
    """
    check_duration(task.timeout, f"{field}.timeout")
    if task.HasField("retry"):
        # 0 means "the default"; a negative or huge count is a mistake.
        check_count(task.retry.max_attempts, f"{field}.retry.maxAttempts", 0, MAX_ATTEMPTS, "maxAttempts")
        backoff = task.retry.backoff
        check_duration(backoff.initial, f"{field}.retry.backoff.initial")
        check_duration(backoff.max, f"{field}.retry.backoff.max")
        check_count(backoff.multiplier, f"{field}.retry.backoff.multiplier", 0, MAX_MULTIPLIER, "multiplier")
    # A kind's own durations and counts are checked by its validate (runners/workflow/kinds/).


def check_run_timeout(text: str, field: str) -> None:
    """Refuse a run's timeout that is malformed, computed (``${…}``) or out of bounds."""
    if "${" in text:
        raise InvalidArgument(
            "a run's timeout is a fixed duration, not an expression", field=field, hint="write e.g. 30m or 2h"
        )
    check_duration(text, field)


def check_limits(limits: ExecutionLimits, field: str) -> None:
    """Refuse limits that cannot work (negative, not a number, a malformed timeout).

    Raises:
        InvalidArgument: One is; the field is named.
    """
    check_count(limits.max_turns, f"{field}.maxTurns", 0, MAX_TURNS, "maxTurns")
    if limits.max_tokens < 0:
        raise InvalidArgument("maxTokens must be 0 (no limit) or more", field=f"{field}.maxTokens")
    if not math.isfinite(limits.max_cost) or limits.max_cost < 0:
        raise InvalidArgument(
            "maxCost must be 0 (no limit) or more US dollars",
            field=f"{field}.maxCost",
            hint="e.g. maxCost: 0.5",
        )
    check_run_timeout(limits.timeout, f"{field}.timeout")


__all__ = [
    "MAX_ATTEMPTS",
    "MAX_CONCURRENCY",
    "MAX_DURATION_SECONDS",
    "check_count",
    "check_duration",
    "check_limits",
    "check_run_timeout",
    "check_task_bounds",
]
