"""What a running agent reports as it goes, for the CLI and other live viewers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stigmer.models.types import TextDelta


@dataclass
class ToolStarted:
    """The agent calls a tool."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    server: str = ""


@dataclass
class ToolFinished:
    """A tool returned."""

    name: str
    text: str
    is_error: bool = False
    duration_ms: int = 0


@dataclass
class ApprovalNeeded:
    """The agent wants a tool that needs a person's yes; the run pauses."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class TurnEnded:
    """A model turn ended (usage so far, for a live total)."""

    input_tokens: int
    output_tokens: int


RunEvent = TextDelta | ToolStarted | ToolFinished | ApprovalNeeded | TurnEnded
EventSink = Callable[[RunEvent], None]


def ignore(_: RunEvent) -> None:
    """An event sink that drops everything (detached runs)."""


__all__ = [
    "ApprovalNeeded",
    "EventSink",
    "RunEvent",
    "TextDelta",
    "ToolFinished",
    "ToolStarted",
    "TurnEnded",
    "ignore",
]
