"""Plain Python values from execution records."""

from __future__ import annotations

from typing import Any

from stigmer.resources.kinds import Execution


def outputs(execution: Execution) -> dict[str, Any]:
    """An execution's outputs as plain data: ``{"words": 4}``, not protobuf's ``4.0``.

    A workflow run's declared outputs; an agent run's structured outputs, else
    ``{"output": its answer}``.
    """
    from stigmer.resources.codec import to_dict
    from stigmer.resources.steps import plain

    status = execution.status
    if status.HasField("outputs"):
        return dict(plain(to_dict(status.outputs)))
    answer = getattr(status, "output", "")
    return {"output": answer} if answer else {}


__all__ = ["outputs"]
