"""``openai`` and ``ollama``: every server that speaks OpenAI's chat completions API.

OpenAI itself, Ollama, vLLM, llama.cpp's ``llama-server`` and llama-cpp-python's server
all take the same request through the official ``openai`` SDK (``AsyncOpenAI``), streamed
with ``stream_options.include_usage`` so the last chunk reports usage. Tool calls arrive
as deltas (an id and name first, then pieces of the JSON arguments) and are emitted once
the stream ends.

Options: ``apiKey`` (else ``OPENAI_API_KEY``; servers that need none get a placeholder),
``baseUrl`` (else ``OPENAI_BASE_URL``, else OpenAI), ``maxTokens``, ``temperature``,
``maxRetries`` (default 2), ``toolChoice`` (``auto``, ``required``, ``none`` or a tool
name; ``required`` and a name hold until such a call was made, then turns are ``auto``),
and ``responseFormat`` for structured output: ``json_schema`` (the default, which
OpenAI, Ollama, vLLM and llama-server take) or ``json_object`` (llama-cpp-python's server,
which takes the schema inside ``{"type": "json_object", "schema": …}``).

``ollama`` is the same provider with ``http://127.0.0.1:11434/v1`` (or ``OLLAMA_HOST``)
and a placeholder key. The SDK is imported when a model first streams.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
    import openai

OPENAI_DEFAULT_MODEL = "gpt-4o-mini"
OLLAMA_DEFAULT_MODEL = "qwen2.5:0.5b"
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434/v1"
# Local servers ignore the key, but the SDK insists on one.
PLACEHOLDER_KEY = "not-needed"

_STOP: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "end_turn",
}


def to_openai_messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """The ``messages`` of a chat completions request."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            content = m.content
            if m.is_error and not content.lower().startswith("error"):
                content = f"Error: {content}"  # the API has no error flag on tool results
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": content})
        elif m.role == "assistant" and m.tool_calls:
            calls = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in m.tool_calls
            ]
            # "" rather than null: some servers' chat templates cannot render a null content.
            out.append({"role": "assistant", "content": m.content, "tool_calls": calls})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def forced_tool_choice(request: ModelRequest, choice: str) -> str:
    """``options.toolChoice`` for this turn: a forced choice holds until it was honoured once.

    ``required`` forces some tool call and a tool name forces that tool; once the
    conversation holds such a call, later turns are ``auto``, so the agent can read the
    result and answer (forced on every turn, it could only call tools until its turn limit).
    """
    if choice in ("", "auto", "none"):
        return choice
    called = {call.name for m in request.messages if m.role == "assistant" for call in m.tool_calls}
    honoured = bool(called) if choice == "required" else choice in called
    return "auto" if honoured else choice


def request_params(request: ModelRequest, model: str, options: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``chat.completions.create`` for one turn (streaming)."""
    max_tokens, temperature = sampling(request, options, "openai")
    params: dict[str, Any] = {
        "model": model,
        "messages": to_openai_messages(request.messages),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    if temperature is not None:
        params["temperature"] = temperature
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
            }
            for t in request.tools
        ]
        choice = forced_tool_choice(request, text_option(options, "toolChoice"))
        if choice in ("auto", "required", "none"):
            params["tool_choice"] = choice
        elif choice and any(t.name == choice for t in request.tools):
            params["tool_choice"] = {"type": "function", "function": {"name": choice}}
    if request.output_schema is not None:
        fmt = text_option(options, "responseFormat", default="json_schema")
        if fmt == "json_object":
            params["response_format"] = {"type": "json_object", "schema": request.output_schema}
        elif fmt == "json_schema":
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": request.output_schema},
            }
        else:
            raise ModelError(
                f"openai: unknown options.responseFormat {fmt!r}", hint="use json_schema or json_object"
            )
    return params


def _error(exc: Exception, provider: str, base_url: str, key_env: str) -> ModelError:
    import openai

    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        detail = str(body.get("message") or exc.message)
        status = exc.status_code
        if status == 401:
            hint = f"check the API key ({key_env} or options.apiKey)"
        elif status == 404:
            hint = f"check the model name and options.baseUrl ({base_url})"
        elif status == 429:
            hint = "rate limited or out of quota: retry later, or check the account"
        elif status >= 500:
            hint = "the server failed on this request (its message is above); retry, or check the options"
        else:
            hint = "the server refused the request; the message above says why"
        return ModelError(f"{provider}: HTTP {status}: {detail}", hint=hint)
    if isinstance(exc, openai.APIConnectionError):
        return ModelError(
            f"{provider}: cannot reach {base_url} ({exc})",
            hint="is the server running? check options.baseUrl",
        )
    if isinstance(exc, openai.APIError):
        return ModelError(f"{provider}: {exc.message}", hint="the server failed mid-answer; retry the turn")
    return ModelError(f"{provider}: {exc}")


@dataclass
class _Call:
    """A tool call being streamed."""

    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OpenAIModel:
    """One model of an OpenAI-compatible server; see the module docstring."""

    def __init__(
        self,
        provider: str,
        name: str,
        options: dict[str, Any],
        *,
        api_key: str,
        base_url: str,
        key_env: str,
        http_client: Any = None,
    ) -> None:
        self.provider = provider
        self.name = name
        self.options = options
        self.api_key = api_key
        self.base_url = base_url
        self.key_env = key_env
        self.http_client = http_client

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.name}"

    def _client(self) -> openai.AsyncOpenAI:
        import openai

        retries = number_option(self.options, "maxRetries", self.provider)
        return openai.AsyncOpenAI(
            api_key=self.api_key,
            base_url=self.base_url or None,
            max_retries=2 if retries is None else int(retries),
            http_client=self.http_client,
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        import openai

        params = request_params(request, self.name, self.options)
        client = self._client()
        where = str(client.base_url)
        try:
            chunks = await client.chat.completions.create(**params)
            async for event in self._events(chunks):
                yield event
        except openai.OpenAIError as exc:
            raise _error(exc, self.provider, where, self.key_env) from None
        finally:
            if self.http_client is None:
                await client.close()  # an injected client belongs to its owner

    async def _events(self, chunks: AsyncIterator[Any]) -> AsyncIterator[ModelEvent]:
        usage: UsageEvent | None = None  # servers that send none leave it unknown, not 0
        finish = "stop"
        model = ""
        calls: dict[int, _Call] = {}
        async for chunk in chunks:
            model = chunk.model or model
            if chunk.usage is not None:
                usage = UsageEvent(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content:
                    yield TextDelta(delta.content)
                for part in delta.tool_calls or []:
                    call = calls.setdefault(part.index, _Call())
                    call.id = part.id or call.id
                    if part.function is not None:
                        call.name = part.function.name or call.name
                        if part.function.arguments:
                            call.arguments.append(part.function.arguments)
                finish = choice.finish_reason or finish
        for index in sorted(calls):
            call = calls[index]
            arguments = parse_arguments("".join(call.arguments), call.name, self.provider)
            yield ToolCallEvent(ToolCall(call.id or f"call_{index}", call.name, arguments))
        if usage is not None:
            yield usage
        reason = _STOP.get(finish, "end_turn")
        # Some servers end a turn with tool calls as "stop"; the calls are what counts.
        yield Finish("tool_use" if calls else reason, model)


class OpenAIProvider:
    """OpenAI, or any OpenAI-compatible server given by ``options.baseUrl``.

    ``http_client`` (an ``httpx2.AsyncClient``) is for tests.
    """

    name = "openai"
    description = "OpenAI and any OpenAI-compatible server (vLLM, llama.cpp, …)"
    key_env = "OPENAI_API_KEY"
    url_env = "OPENAI_BASE_URL"
    default_model = OPENAI_DEFAULT_MODEL

    def __init__(self, *, http_client: Any = None) -> None:
        self.http_client = http_client

    def availability(self) -> Availability:
        if not installed("openai"):
            return Availability(False, f"package 'openai' is not installed: {install_hint('openai')}")
        if os.environ.get(self.key_env):
            return Availability(True, f"{self.key_env} is set")
        if os.environ.get(self.url_env):
            return Availability(True, f"{self.url_env} is set ({os.environ[self.url_env]})")
        return Availability(
            False, f"{self.key_env} is not set (a local OpenAI-compatible server needs options.baseUrl)"
        )

    def _endpoint(self, options: dict[str, Any]) -> tuple[str, str]:
        base_url = text_option(options, "baseUrl", self.url_env)
        api_key = text_option(options, "apiKey", self.key_env)
        if not api_key:
            if not base_url:
                raise ModelError(
                    f"{self.name}: no API key",
                    hint=f"set {self.key_env}, or options.apiKey; for a local server give options.baseUrl",
                )
            api_key = PLACEHOLDER_KEY
        return base_url, api_key

    def model(self, name: str, options: dict[str, Any]) -> OpenAIModel:
        if not installed("openai"):
            raise missing_package(self.name, "openai", "openai")
        base_url, api_key = self._endpoint(options)
        return OpenAIModel(
            self.name,
            name or self.default_model,
            options,
            api_key=api_key,
            base_url=base_url,
            key_env=self.key_env,
            http_client=self.http_client,
        )


def ollama_url() -> str:
    """Ollama's OpenAI-compatible endpoint: ``OLLAMA_HOST`` (``host:port`` or a URL), else the default."""
    host = os.environ.get("OLLAMA_HOST", "")
    if not host:
        return OLLAMA_DEFAULT_URL
    if "://" not in host:
        host = f"http://{host}"
    return host.rstrip("/") + "/v1"


class OllamaProvider(OpenAIProvider):
    """An Ollama server (``ollama serve``) through its OpenAI-compatible endpoint."""

    name = "ollama"
    description = "models served by Ollama (default http://127.0.0.1:11434/v1)"
    default_model = OLLAMA_DEFAULT_MODEL

    def availability(self) -> Availability:
        if not installed("openai"):
            return Availability(False, f"package 'openai' is not installed: {install_hint('openai')}")
        url = ollama_url()
        parts = urlsplit(url)
        try:
            with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 11434), timeout=0.2):
                pass
        except OSError:
            return Availability(False, f"no Ollama server answers on {parts.netloc} (start it: ollama serve)")
        return Availability(True, f"an Ollama server answers on {parts.netloc}")

    def _endpoint(self, options: dict[str, Any]) -> tuple[str, str]:
        return text_option(options, "baseUrl") or ollama_url(), text_option(options, "apiKey") or "ollama"


__all__ = [
    "OllamaProvider",
    "OpenAIModel",
    "OpenAIProvider",
    "forced_tool_choice",
    "ollama_url",
    "request_params",
    "to_openai_messages",
]
