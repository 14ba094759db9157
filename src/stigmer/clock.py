"""Where "now" comes from: the wall clock by default, a clock of the test's in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current UTC time (the default clock)."""
    return datetime.now(UTC)


__all__ = ["Clock", "utcnow"]
