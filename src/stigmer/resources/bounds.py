"""Bounds of a task's durations and counts, checked when a workflow is applied, so that
`timeout: forever` or `retry: {maxAttempts: -1}` is refused then, not when it runs."""

from __future__ import annotations

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.errors import InvalidArgument
from stigmer.resources.durations import parse_duration

# A year: longer is a mistake (and beyond what timers and leases are tested with).
MAX_DURATION_SECONDS = 366 * 86400
MAX_ATTEMPTS = 100
MAX_CONCURRENCY = 1000
MAX_MULTIPLIER = 100.0


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


__all__ = [
    "MAX_ATTEMPTS",
    "MAX_CONCURRENCY",
    "MAX_DURATION_SECONDS",
    "check_count",
    "check_duration",
    "check_task_bounds",
]
