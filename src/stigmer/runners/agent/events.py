"""What a running agent reports as it goes, for the CLI and other live viewers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stigmer.models.types import TextDelta

if TYPE_CHECKING:
    from stigmer.api.backend.v1.backend_pb2 import ExecutionStep


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
class InputNeeded:
    """An MCP server asks a person something during a tool call; the run waits for the answer.

    Attributes:
        kind: ``elicitation`` (answer with `stigmer execution respond`) or ``sampling``
            (the server wants the agent's model: approve or reject).
        tool: The tool call it came from.
        server: The MCP server asking.
        message: What the server says it needs, or the text it wants completed.
        requested_schema: The fields of the answer (an elicitation form).
        url: The page to open (an elicitation in URL mode).
        fields: The names of the schema's fields, in the server's order.
    """

    kind: str
    tool: str
    server: str
    message: str
    requested_schema: dict[str, Any] = field(default_factory=dict)
    url: str = ""
    fields: list[str] = field(default_factory=list)


@dataclass
class TurnEnded:
    """A model turn ended (usage so far, for a live total)."""

    input_tokens: int
    output_tokens: int


RunEvent = TextDelta | ToolStarted | ToolFinished | ApprovalNeeded | InputNeeded | TurnEnded
EventSink = Callable[[RunEvent], None]


class StepEvents:
    """The live events a recorded step stands for, as a runner in this process would emit them.

    Remembers the sub-agent runs it announced, so a finished one is not announced twice.
    """

    def __init__(self) -> None:
        self.started: set[int] = set()

    def __call__(self, step: ExecutionStep) -> list[RunEvent]:
        from stigmer.resources.steps import (
            AGENT,
            APPROVAL,
            ASKS,
            MODEL,
            TOOL,
            WAITING,
            duration_ms,
            input_of,
            output_of,
        )

        out, inp = output_of(step), input_of(step)
        name = step.name.partition(":")[2]
        arguments = inp.get("arguments") or {}
        if step.name == MODEL:
            text = str(out.get("text", ""))
            return [TextDelta(text)] if text else []
        if step.name.startswith(APPROVAL):
            return [ApprovalNeeded(name, arguments)] if step.status == WAITING else []
        if step.name.startswith(ASKS):
            return [input_needed(step)] if step.status == WAITING else []
        if not step.name.startswith((TOOL, AGENT)):
            return []
        events: list[RunEvent] = []
        if step.step not in self.started:
            events.append(ToolStarted(name, arguments, str(inp.get("server", ""))))
            self.started.add(step.step)
        if step.status != WAITING:
            text, is_error = str(out.get("text", "")), bool(out.get("isError", False))
            events.append(ToolFinished(name, text, is_error, duration_ms(step)))
        return events


def input_needed(step: ExecutionStep) -> InputNeeded:
    """What a waiting elicitation or sampling step asks (see :mod:`stigmer.runners.agent.asks`)."""
    from stigmer.resources.steps import input_of

    kind, _, tool = step.name.partition(":")
    inp = input_of(step)
    return InputNeeded(
        kind,
        tool,
        str(inp.get("server", "")),
        str(inp.get("message", "")),
        dict(inp.get("requestedSchema") or {}),
        str(inp.get("url", "")),
        [str(f) for f in inp.get("fields") or []],
    )


def ignore(_: RunEvent) -> None:
    """An event sink that drops everything (detached runs)."""


__all__ = [
    "ApprovalNeeded",
    "EventSink",
    "InputNeeded",
    "RunEvent",
    "StepEvents",
    "TextDelta",
    "ToolFinished",
    "ToolStarted",
    "TurnEnded",
    "ignore",
    "input_needed",
]
