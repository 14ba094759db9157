"""What goes into a model and what comes out, whichever provider serves it.

A provider turns a :class:`ModelRequest` (messages, tools, options, an optional JSON
schema for structured output) into a stream of :data:`ModelEvent`: text as it is
generated, complete tool calls, usage, and one final :class:`Finish`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from stigmer.errors import StigmerError

Role = Literal["system", "user", "assistant", "tool"]


@dataclass
class ToolSpec:
    """A tool the model may call: its name, what it does and a JSON schema of its arguments."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass
class ToolCall:
    """One call the model asked for."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChatMessage:
    """One message of the conversation sent to the model.

    ``tool`` messages carry the result of the call named by ``tool_call_id``.
    """

    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str = ""
    is_error: bool = False


@dataclass
class ModelRequest:
    """Everything a model needs for one turn."""

    messages: list[ChatMessage]
    tools: list[ToolSpec] = field(default_factory=list)
    # When set, the answer must be JSON matching this schema (structured output).
    output_schema: dict[str, Any] | None = None
    max_tokens: int | None = None
    temperature: float | None = None


@dataclass
class TextDelta:
    """A piece of the answer, as soon as it is generated."""

    text: str


@dataclass
class ToolCallEvent:
    """A complete tool call (providers that stream arguments emit it once assembled)."""

    call: ToolCall


@dataclass
class UsageEvent:
    """Tokens used by this turn."""

    input_tokens: int = 0
    output_tokens: int = 0


StopReason = Literal["end_turn", "tool_use", "max_tokens", "error"]


@dataclass
class Finish:
    """The turn is over; always the last event.

    ``model`` is the model that answered, as the provider's response names it (a dated
    version of the requested alias, say); "" when the response does not say.
    """

    stop_reason: StopReason = "end_turn"
    model: str = ""


ModelEvent = TextDelta | ToolCallEvent | UsageEvent | Finish


class Model(Protocol):
    """A model ready to answer, e.g. ``anthropic/claude-sonnet-4-5`` with its options."""

    @property
    def id(self) -> str:
        """``provider/name`` of the model that actually runs."""
        ...

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Answer one turn as a stream of events ending with :class:`Finish`.

        Raises:
            ModelError: The provider failed (unreachable, refused, invalid output).
        """
        ...


@dataclass
class Availability:
    """Whether a provider can be used on this machine now, and why (not)."""

    usable: bool
    reason: str


class Provider(Protocol):
    """A source of models, registered under a name (``anthropic``, ``local``, …)."""

    name: str
    description: str

    def availability(self) -> Availability:
        """Can it run here (package installed, key present, server reachable)? Cheap to call."""
        ...

    def model(self, name: str, options: dict[str, Any]) -> Model:
        """The model ``name`` with provider options (base URL, API key, temperature, …).

        Raises:
            ModelError: The provider cannot serve it (missing package or key, unknown model).
        """
        ...


class ModelError(StigmerError):
    """A model provider failed; the message says which provider, the hint what to do."""

    grpc_code = "UNAVAILABLE"


async def collect(model: Model, request: ModelRequest) -> tuple[str, list[ToolCall], UsageEvent, StopReason]:
    """Run one turn to the end: the text, the tool calls, the usage and the stop reason."""
    text: list[str] = []
    calls: list[ToolCall] = []
    usage = UsageEvent()
    reason: StopReason = "end_turn"
    async for event in model.stream(request):
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ToolCallEvent):
            calls.append(event.call)
        elif isinstance(event, UsageEvent):
            usage.input_tokens += event.input_tokens
            usage.output_tokens += event.output_tokens
        else:
            reason = event.stop_reason
    return "".join(text), calls, usage, reason


__all__ = [
    "Availability",
    "ChatMessage",
    "Finish",
    "Model",
    "ModelError",
    "ModelEvent",
    "ModelRequest",
    "Provider",
    "Role",
    "StopReason",
    "TextDelta",
    "ToolCall",
    "ToolCallEvent",
    "ToolSpec",
    "UsageEvent",
    "collect",
]
