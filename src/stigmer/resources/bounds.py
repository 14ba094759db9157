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


def _duration(text: str, field: str, *, zero: bool = False) -> None:
    if not text or "${" in text:
        return  # unset, or computed when the task runs (checked then)
    seconds = parse_duration(text, field=field)
    if seconds > MAX_DURATION_SECONDS or (seconds <= 0 and not zero):
        raise InvalidArgument(
            f"{text!r} is out of bounds: a duration here is more than 0 and at most 366d",
            field=field,
            hint="write e.g. 30s, 5m, 1h30m or 7d",
        )


def _count(value: int | float, field: str, low: float, high: float, what: str) -> None:
    if not low <= value <= high:
        raise InvalidArgument(f"{what} must be from {low:g} to {high:g}, not {value:g}", field=field)


def check_task_bounds(task: Task, field: str) -> None:
    """Refuse a duration, count or bound of ``task`` that cannot work.

    Raises:
        InvalidArgument: One is malformed or out of bounds; the field is named.
    """
    _duration(task.timeout, f"{field}.timeout")
    if task.HasField("retry"):
        # 0 means "the default"; a negative or huge count is a mistake.
        _count(task.retry.max_attempts, f"{field}.retry.maxAttempts", 0, MAX_ATTEMPTS, "maxAttempts")
        backoff = task.retry.backoff
        _duration(backoff.initial, f"{field}.retry.backoff.initial")
        _duration(backoff.max, f"{field}.retry.backoff.max")
        _count(backoff.multiplier, f"{field}.retry.backoff.multiplier", 0, MAX_MULTIPLIER, "multiplier")
    kind = task.WhichOneof("kind")
    if kind == "for_each":
        concurrency = task.for_each.concurrency
        _count(concurrency, f"{field}.forEach.concurrency", 0, MAX_CONCURRENCY, "concurrency")
    elif kind == "wait":
        _duration(task.wait.duration, f"{field}.wait.duration", zero=True)
    elif kind == "approval":
        _duration(task.approval.timeout, f"{field}.approval.timeout")
    elif kind == "http" and task.http.max_response_bytes < 0:
        raise InvalidArgument("maxResponseBytes must be positive", field=f"{field}.http.maxResponseBytes")


__all__ = ["MAX_ATTEMPTS", "MAX_CONCURRENCY", "MAX_DURATION_SECONDS", "check_task_bounds"]
