"""Fault-injection points: crash the process at a named step, for durability tests.

Production code calls :func:`hit` at the points where a crash matters (for example
after each resource an ``apply`` writes, before its commit). Nothing happens unless
``STIGMER_FAULTS`` names the point: ``STIGMER_FAULTS="apply.resource_written=3"`` kills
the process with SIGKILL the third time that point is reached.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}
_plan: dict[str, int] | None = None


def _load() -> dict[str, int]:
    plan: dict[str, int] = {}
    for item in os.environ.get("STIGMER_FAULTS", "").split(","):
        name, _, nth = item.strip().partition("=")
        if name:
            plan[name] = int(nth or "1")
    return plan


def hit(point: str) -> None:
    """Record that ``point`` was reached; die here if a fault is planned for this hit."""
    global _plan
    if _plan is None:
        _plan = _load()
    if not _plan:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _plan.get(point) == _counts[point]:
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["hit"]
