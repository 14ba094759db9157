"""``anthropic``: Claude models through the official ``anthropic`` SDK (``AsyncAnthropic``).

Options: ``apiKey`` (else ``ANTHROPIC_API_KEY``), ``baseUrl`` (else the SDK's default or
``ANTHROPIC_BASE_URL``), ``maxTokens`` (default 4096), ``temperature`` (SDK 2.x dropped
the parameter, so it is sent as an extra body field; models that refuse it answer 400),
``maxRetries`` (SDK retries of 429/5xx, default 2).

Structured output is a forced tool: the request offers one extra tool,
``structured_output``, whose input schema is the requested schema, and requires a tool
call (``tool_choice: tool`` when no other tool is offered, ``any`` when there are). Its
input is emitted as the JSON text of the answer. Unlike Anthropic's native
``output_config.format`` this works on every Claude model and on Anthropic-compatible
servers.

The SDK is imported when a model first streams, never when the provider is listed.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stigmer.models.support import (
    install_hint,
    installed,
    missing_package,
    number_option,
    parse_arguments,
    sampling,
    text_option,
)
from stigmer.models.types import (
    Availability,
    ChatMessage,
    Finish,
    ModelError,
    ModelEvent,
    ModelRequest,
    StopReason,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    UsageEvent,
)

if TYPE_CHECKING:
    import anthropic

DEFAULT_MODEL = "claude-sonnet-5"
DEFAULT_MAX_TOKENS = 4096
OUTPUT_TOOL = "structured_output"
KEY_ENV = "ANTHROPIC_API_KEY"

_STOP: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "stop_sequence": "end_turn",
    "pause_turn": "end_turn",
    "refusal": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
}


def to_anthropic_messages(messages: list[ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    """The ``system`` prompt and the ``messages`` of the Messages API.

    System messages join into the system prompt; tool results become ``tool_result``
    blocks of a user message; consecutive messages of one role merge, because the API
    wants every result of a turn's tool calls in the one user message that follows it.
    """
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            if message.content:
                system.append(message.content)
            continue
        blocks: list[dict[str, Any]] = []
        if message.role == "tool":
            role = "user"
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
            result["content"] = message.content
            if message.is_error:
                result["is_error"] = True
            blocks.append(result)
        else:
            role = message.role
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            for call in message.tool_calls:
                blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments})
        if not blocks:
            continue  # the API refuses empty content
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return "\n\n".join(system), out


def request_params(request: ModelRequest, model: str, options: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``messages.create`` for one turn (without ``stream``)."""
    system, messages = to_anthropic_messages(request.messages)
    max_tokens, temperature = sampling(request, options, "anthropic")
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        params["system"] = system
    if temperature is not None:
        # SDK 2.x has no sampling parameters any more; the API still takes temperature
        # for the models that support it, so it travels as an extra body field.
        params["extra_body"] = {"temperature": temperature}
    tools = [
        {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in request.tools
    ]
    if request.output_schema is not None:
        if any(t.name == OUTPUT_TOOL for t in request.tools):
            raise ModelError(
                f"anthropic: a tool named {OUTPUT_TOOL!r} clashes with structured output",
                hint="rename the tool",
            )
        tools.append(
            {
                "name": OUTPUT_TOOL,
                "description": "Give the final answer. Its input is the answer, in the required shape.",
                "input_schema": request.output_schema,
            }
        )
        params["tool_choice"] = {"type": "any"} if request.tools else {"type": "tool", "name": OUTPUT_TOOL}
    if tools:
        params["tools"] = tools
    return params


def _error(exc: Exception, base_url: str) -> ModelError:
    import anthropic

    if isinstance(exc, anthropic.APIStatusError):
        detail = exc.api_message or str(exc)
        where = f"anthropic: HTTP {exc.status_code}" if exc.status_code >= 400 else "anthropic"
        kind = exc.type or ""
        if exc.status_code == 401 or kind == "authentication_error":
            hint = f"check the API key ({KEY_ENV} or options.apiKey)"
        elif exc.status_code == 403 or kind == "permission_error":
            hint = "the API key may not use this model; check the key's workspace and the model name"
        elif exc.status_code == 404 or kind == "not_found_error":
            hint = "check the model name (e.g. anthropic/claude-sonnet-5)"
        elif exc.status_code == 429 or kind == "rate_limit_error":
            hint = "rate limited: retry later, or raise options.maxRetries"
        elif exc.status_code == 529 or kind == "overloaded_error":
            hint = "Anthropic is overloaded: retry later, or raise options.maxRetries"
        elif exc.status_code >= 500 or kind == "api_error":
            hint = "the API failed; retry later"
        else:
            hint = "the request was refused; the message above says which field"
        return ModelError(f"{where}: {detail}", hint=hint)
    if isinstance(exc, anthropic.APIConnectionError):
        return ModelError(
            f"anthropic: cannot reach {base_url or 'the Anthropic API'} ({exc})",
            hint="check the network, or options.baseUrl",
        )
    return ModelError(f"anthropic: {exc}")


@dataclass
class _Block:
    """A tool_use block being streamed: its id, name and the JSON of its input so far."""

    id: str
    name: str
    json: list[str] = field(default_factory=list)


@dataclass
class _Turn:
    """The state of one streamed turn: raw stream events in, model events out."""

    usage: UsageEvent = field(default_factory=UsageEvent)
    stop: str = "end_turn"
    model: str = ""
    called_tools: bool = False
    block: _Block | None = None

    def feed(self, event: Any) -> list[ModelEvent]:
        if event.type == "message_start":
            self.model = str(event.message.model or "")
            u = event.message.usage
            cached = (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)
            self.usage = UsageEvent(u.input_tokens + cached, u.output_tokens)
        elif event.type == "message_delta":
            self.stop = event.delta.stop_reason or self.stop
            # Cumulative counts: output always, input on newer API versions.
            self.usage.output_tokens = event.usage.output_tokens
            if event.usage.input_tokens:
                self.usage.input_tokens = event.usage.input_tokens
        elif event.type == "content_block_start":
            content = event.content_block
            if content.type == "tool_use":
                self.block = _Block(content.id, content.name)
            elif content.type == "text" and content.text:
                return [TextDelta(content.text)]
        elif event.type == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                return [TextDelta(delta.text)]
            if delta.type == "input_json_delta" and self.block is not None:
                self.block.json.append(delta.partial_json)
        elif event.type == "content_block_stop" and self.block is not None:
            return [self._finish_block(self.block)]
        return []

    def _finish_block(self, block: _Block) -> ModelEvent:
        self.block = None
        arguments = parse_arguments("".join(block.json), block.name, "anthropic")
        if block.name == OUTPUT_TOOL:
            return TextDelta(json.dumps(arguments, ensure_ascii=False))
        self.called_tools = True
        return ToolCallEvent(ToolCall(block.id, block.name, arguments))

    def end(self) -> list[ModelEvent]:
        reason = _STOP.get(self.stop, "end_turn")
        if reason == "tool_use" and not self.called_tools:
            reason = "end_turn"  # only the structured-output tool was called: that is the answer
        return [self.usage, Finish(reason, self.model)]


class AnthropicModel:
    """One Claude model with its options; see the module docstring."""

    def __init__(self, name: str, options: dict[str, Any], *, http_client: Any = None) -> None:
        self.name = name or DEFAULT_MODEL
        self.options = options
        self.http_client = http_client
        self.api_key = text_option(options, "apiKey", KEY_ENV)
        if not self.api_key:
            raise ModelError(
                "anthropic: no API key",
                hint=f"set {KEY_ENV}, or options.apiKey: ${{secrets.ANTHROPIC_API_KEY}}",
            )

    @property
    def id(self) -> str:
        return f"anthropic/{self.name}"

    def _client(self) -> anthropic.AsyncAnthropic:
        import anthropic

        retries = number_option(self.options, "maxRetries", "anthropic")
        return anthropic.AsyncAnthropic(
            api_key=self.api_key,
            base_url=text_option(self.options, "baseUrl") or None,
            max_retries=2 if retries is None else int(retries),
            http_client=self.http_client,
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        import anthropic

        params = request_params(request, self.name, self.options)
        client = self._client()
        base_url = str(client.base_url)
        try:
            events = await client.messages.create(**params, stream=True)
            async for event in self._events(events):
                yield event
        except anthropic.AnthropicError as exc:
            raise _error(exc, base_url) from None
        finally:
            if self.http_client is None:
                await client.close()  # an injected client belongs to its owner

    @staticmethod
    async def _events(events: AsyncIterator[Any]) -> AsyncIterator[ModelEvent]:
        turn = _Turn()
        async for event in events:
            for out in turn.feed(event):
                yield out
        for out in turn.end():
            yield out


class AnthropicProvider:
    """Serves :class:`AnthropicModel`; ``http_client`` (an ``httpx2.AsyncClient``) is for tests."""

    name = "anthropic"
    description = "Claude models via the Anthropic API"

    def __init__(self, *, http_client: Any = None) -> None:
        self.http_client = http_client

    def availability(self) -> Availability:
        if not installed("anthropic"):
            return Availability(False, f"package 'anthropic' is not installed: {install_hint('anthropic')}")
        if not os.environ.get(KEY_ENV):
            return Availability(False, f"{KEY_ENV} is not set (or give options.apiKey)")
        return Availability(True, f"{KEY_ENV} is set")

    def model(self, name: str, options: dict[str, Any]) -> AnthropicModel:
        if not installed("anthropic"):
            raise missing_package("anthropic", "anthropic", "anthropic")
        return AnthropicModel(name, options, http_client=self.http_client)


__all__ = ["AnthropicModel", "AnthropicProvider", "request_params", "to_anthropic_messages"]
