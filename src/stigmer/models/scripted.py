"""``scripted``: a deterministic model for tests, yours and ours.

Its options hold a ``script``: a list of turns, each either ``text: "…"``,
``toolCalls: [{name, arguments}]`` or ``echoToolResult: true`` (answer with the text of
the last tool result, as a model that repeats what a tool said would). Turns are used in
order, counted by the assistant
turns already in the conversation, so a resumed run replays the same script. When the
script is exhausted, or when there is none, it answers ``echo: <last user message>``.

.. code-block:: yaml

    model:
      provider: scripted
      options:
        script:
          - toolCalls: [{name: find_order, arguments: {id: A-1}}]
          - text: "Your order A-1 ships tomorrow."
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from stigmer.models.types import (
    Availability,
    Finish,
    ModelError,
    ModelEvent,
    ModelRequest,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    UsageEvent,
)
from stigmer.resources.steps import plain


def _words(text: str) -> list[str]:
    pieces = text.split(" ")
    return [p + (" " if i < len(pieces) - 1 else "") for i, p in enumerate(pieces)]


class ScriptedModel:
    """Plays its script; see the module docstring."""

    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = script

    @property
    def id(self) -> str:
        return "scripted"

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        turn = sum(1 for m in request.messages if m.role == "assistant")
        user = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        step = self.script[turn] if turn < len(self.script) else {"text": f"echo: {user}"}
        prompt_tokens = sum(len(m.content.split()) for m in request.messages)
        calls = step.get("toolCalls") or []
        if calls:
            for i, call in enumerate(calls):
                yield ToolCallEvent(
                    ToolCall(f"call_{turn}_{i}", str(call["name"]), dict(call.get("arguments") or {}))
                )
            yield UsageEvent(prompt_tokens, len(calls) * 8)
            yield Finish("tool_use")
            return
        text = step.get("text", "")
        if step.get("echoToolResult"):
            text = next((m.content for m in reversed(request.messages) if m.role == "tool"), "")
        if not isinstance(text, str):
            text = json.dumps(text)
        for word in _words(text):
            yield TextDelta(word)
        yield UsageEvent(prompt_tokens, len(text.split()))
        yield Finish("end_turn")


class ScriptedProvider:
    """Serves :class:`ScriptedModel`; always usable."""

    name = "scripted"
    description = "deterministic turns from options.script, for tests"

    def availability(self) -> Availability:
        return Availability(True, "built in; plays options.script, else echoes")

    def model(self, name: str, options: dict[str, Any]) -> ScriptedModel:
        script = options.get("script", [])
        if not isinstance(script, list) or not all(isinstance(s, dict) for s in script):
            raise ModelError(
                "scripted: options.script must be a list of turns",
                hint='each turn is {text: "..."} or {toolCalls: [{name, arguments}]}',
            )
        for i, step in enumerate(script):
            if sum(key in step for key in ("text", "toolCalls", "echoToolResult")) != 1:
                raise ModelError(
                    f"scripted: turn {i + 1} needs exactly one of text, toolCalls or echoToolResult"
                )
        # Options arrive through a protobuf Struct, where every number is a double: a YAML
        # `2` would reach a tool as `2.0` on the first pass (and as `2` after a resume, read
        # back from the record). Integral numbers are integers again, on every pass.
        return ScriptedModel(plain(script))


__all__ = ["ScriptedModel", "ScriptedProvider"]
