"""Engines: claim executions with leases and carry them out with the runners."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stigmer.resources.kinds import Execution

OnDone = Callable[["Execution"], None]
"""Called with each run a worker finished (``stigmer worker`` counts them)."""

__all__ = ["OnDone"]
