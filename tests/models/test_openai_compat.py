"""The openai provider: against a real OpenAI-compatible server on 127.0.0.1 (llama-cpp-python's,
serving the embedded SmolLM2), and at the HTTP layer with recorded OpenAI streams."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from stigmer.models.openai_compat import (
    OLLAMA_DEFAULT_URL,
    OllamaProvider,
    OpenAIProvider,
    to_openai_messages,
)
from stigmer.models.types import (
    ChatMessage,
    Finish,
    ModelError,
    ModelEvent,
    ModelRequest,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    ToolSpec,
    UsageEvent,
    collect,
)
from tests.models.cassettes import SCRUBBED, Cassette
from tests.models.servers import free_port, llama_cpp_server

KEY = "sk-test-key-not-real"
Open = Callable[[str, str], Cassette]

WEATHER = ToolSpec(
    "get_weather",
    "Current weather of a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIME = ToolSpec(
    "get_time",
    "The local time in a time zone.",
    {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]},
)
PLACE = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
}


def run(model: Any, request: ModelRequest) -> list[ModelEvent]:
    async def go() -> list[ModelEvent]:
        return [event async for event in model.stream(request)]

    return asyncio.run(go())


# --- a real server: llama-cpp-python's OpenAI-compatible server with SmolLM2 -------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llama_cpp_server(tmp_path_factory.mktemp("llama-server") / "server.log") as base_url:
        yield base_url


def served(base_url: str, **options: Any) -> Any:
    return OpenAIProvider().model(
        "smollm2", {"baseUrl": base_url, "temperature": 0, "maxTokens": 48, **options}
    )


def test_streams_text_from_a_real_server(server: str) -> None:
    events = run(served(server), ModelRequest([ChatMessage("user", "Say hello in one short sentence.")]))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1  # streamed token by token, not in one piece
    assert "".join(deltas).strip()
    # This server sends no usage chunk even when asked: the usage stays unknown (no zeros).
    assert not any(isinstance(e, UsageEvent) for e in events)
    assert events[-1] == Finish("end_turn", "smollm2")


def test_tool_round_trip_with_a_real_server(server: str) -> None:
    # SmolLM2 behind this server calls a tool only when tool_choice names it (auto: never).
    conversation = [ChatMessage("user", "What is the weather in Paris?")]
    _, calls, _, reason = asyncio.run(
        collect(served(server, toolChoice="get_weather"), ModelRequest(conversation, tools=[WEATHER]))
    )
    assert reason == "tool_use"
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "Paris"})]
    jsonschema.validate(calls[0].arguments, WEATHER.parameters)

    conversation += [
        ChatMessage("assistant", tool_calls=calls),
        ChatMessage("tool", "Sunny, 22 C", tool_call_id=calls[0].id),
    ]
    text, calls_after, _, reason = asyncio.run(
        collect(served(server), ModelRequest(conversation, tools=[WEATHER]))
    )
    assert text.strip()
    assert not calls_after
    assert reason in ("end_turn", "max_tokens")


def test_structured_output_with_a_real_server(server: str) -> None:
    request = ModelRequest(
        [ChatMessage("user", "Paris is the capital of France. Give the city and its country as JSON.")],
        output_schema=PLACE,
    )
    text, _, _, reason = asyncio.run(collect(served(server, responseFormat="json_object"), request))
    assert reason == "end_turn"
    jsonschema.validate(json.loads(text), PLACE)


def test_a_server_that_refuses_json_schema_says_so(server: str) -> None:
    # llama-cpp-python's server takes only {"type": "json_object", "schema": ...}.
    request = ModelRequest([ChatMessage("user", "Give a city as JSON.")], output_schema=PLACE)
    with pytest.raises(ModelError) as caught:
        run(served(server, maxRetries=0), request)
    assert "HTTP 500" in caught.value.message
    assert "json_object" in caught.value.message


# --- recorded OpenAI streams ------------------------------------------------------------


def test_tool_calls_are_assembled_from_deltas(cassette: Open) -> None:
    recording = cassette("openai_tool_call_deltas", KEY)
    model = OpenAIProvider(http_client=recording.client()).model("gpt-4o-mini", {"apiKey": KEY})
    request = ModelRequest(
        [
            ChatMessage("system", "You plan trips."),
            ChatMessage("user", "What's the weather in Paris, and what time is it there?"),
        ],
        tools=[WEATHER, TIME],
    )
    assert run(model, request) == [
        ToolCallEvent(ToolCall("call_Xk2pQ9vL4mT7sR1wN8bY3cHd", "get_weather", {"city": "Paris"})),
        ToolCallEvent(ToolCall("call_Rb5nW2qT8kL1vP6xM3sJ9gFa", "get_time", {"timezone": "Europe/Paris"})),
        UsageEvent(input_tokens=94, output_tokens=48),
        Finish("tool_use", "gpt-4o-mini-2024-07-18"),
    ]
    sent = recording.requests[0]
    assert sent["body"]["stream_options"] == {"include_usage": True}
    assert sent["headers"]["authorization"] == SCRUBBED
    assert KEY not in json.dumps(recording.requests)


def test_structured_output_uses_json_schema(cassette: Open) -> None:
    recording = cassette("openai_structured_output", KEY)
    model = OpenAIProvider(http_client=recording.client()).model(
        "gpt-4o-mini", {"apiKey": KEY, "maxTokens": "200", "temperature": "0"}
    )
    request = ModelRequest(
        [ChatMessage("user", 'Extract the city and the country: "I moved to Lyon, in France, last spring."')],
        output_schema=PLACE,
    )
    events = run(model, request)
    assert json.loads("".join(e.text for e in events if isinstance(e, TextDelta))) == {
        "city": "Lyon",
        "country": "France",
    }
    assert events[-2:] == [UsageEvent(71, 12), Finish("end_turn", "gpt-4o-mini-2024-07-18")]


def test_a_refused_key_is_an_error_with_a_hint(cassette: Open) -> None:
    recording = cassette("openai_error_401", KEY)
    model = OpenAIProvider(http_client=recording.client()).model(
        "gpt-4o-mini", {"apiKey": KEY, "maxRetries": 0}
    )
    with pytest.raises(ModelError) as caught:
        run(model, ModelRequest([ChatMessage("user", "Hello")]))
    assert "HTTP 401: Incorrect API key provided" in caught.value.message
    assert "OPENAI_API_KEY" in caught.value.hint
    assert KEY not in f"{caught.value} {caught.value.hint}"


# --- messages, options and availability -----------------------------------------------


def test_messages_map_onto_the_chat_format() -> None:
    call = ToolCall("call_1", "get_weather", {"city": "Paris"})
    assert to_openai_messages(
        [
            ChatMessage("user", "Weather?"),
            ChatMessage("assistant", tool_calls=[call]),
            ChatMessage("tool", "no such city", tool_call_id="call_1", is_error=True),
        ]
    ) == [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Error: no such city"},
    ]


def test_openai_needs_a_key_or_a_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = OpenAIProvider()
    with pytest.raises(ModelError) as caught:
        provider.model("gpt-4o-mini", {})
    assert "OPENAI_API_KEY" in caught.value.hint
    assert not provider.availability().usable
    # A local server needs no key: the SDK gets a placeholder.
    assert provider.model("m", {"baseUrl": "http://127.0.0.1:8000/v1"}).api_key
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert provider.availability().usable
    assert provider.availability().reason == "OPENAI_API_KEY is set"


def test_ollama_defaults_to_the_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    model = OllamaProvider().model("qwen2.5:0.5b", {})
    assert (model.id, model.base_url) == ("ollama/qwen2.5:0.5b", OLLAMA_DEFAULT_URL)
    port = free_port()
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{port}")
    assert OllamaProvider().model("m", {}).base_url == f"http://127.0.0.1:{port}/v1"
    availability = OllamaProvider().availability()
    assert not availability.usable
    assert f"no Ollama server answers on 127.0.0.1:{port}" in availability.reason
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert OllamaProvider().availability().usable


def test_unknown_response_format_is_an_error() -> None:
    model = OpenAIProvider().model("m", {"baseUrl": "http://127.0.0.1:9/v1", "responseFormat": "yaml"})
    with pytest.raises(ModelError) as caught:
        run(model, ModelRequest([ChatMessage("user", "x")], output_schema=PLACE))
    assert "json_schema or json_object" in caught.value.hint


def test_an_unreachable_server_is_an_error_with_a_hint(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{free_port()}/v1"
    model = OpenAIProvider().model("m", {"baseUrl": base, "maxRetries": 0})
    with pytest.raises(ModelError) as caught:
        run(model, ModelRequest([ChatMessage("user", "x")]))
    assert "cannot reach" in caught.value.message
    assert "options.baseUrl" in caught.value.hint


# --- tool choice and usage, at the HTTP layer -------------------------------------------


def _sse_client(sent: list[dict[str, Any]], chunks: list[dict[str, Any]]) -> Any:
    import httpx2

    def handle(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, text=body)

    return httpx2.AsyncClient(transport=httpx2.MockTransport(handle))


TEXT_CHUNKS = [
    {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": "Sunny."}, "finish_reason": "stop"}
        ],
    },
]


def test_a_stream_without_usage_reports_none_and_usage_is_requested() -> None:
    sent: list[dict[str, Any]] = []
    model = OpenAIProvider(http_client=_sse_client(sent, TEXT_CHUNKS)).model("m", {"apiKey": KEY})
    events = run(model, ModelRequest([ChatMessage("user", "Weather?")]))
    assert events == [TextDelta("Sunny."), Finish("end_turn", "m")]  # no UsageEvent(0, 0)
    assert sent[0]["stream"] is True
    assert sent[0]["stream_options"] == {"include_usage": True}


def _called(call: ToolCall, result: str) -> list[ChatMessage]:
    return [ChatMessage("assistant", tool_calls=[call]), ChatMessage("tool", result, tool_call_id=call.id)]


def test_a_forced_tool_is_forced_until_it_was_called() -> None:
    sent: list[dict[str, Any]] = []
    model = OpenAIProvider(http_client=_sse_client(sent, TEXT_CHUNKS)).model(
        "m", {"apiKey": KEY, "toolChoice": "get_weather"}
    )
    first = [ChatMessage("user", "Weather in Paris?")]
    run(model, ModelRequest(first, tools=[WEATHER, TIME]))
    call = ToolCall("call_1", "get_time", {"timezone": "Europe/Paris"})
    other = [
        *first,
        ChatMessage("assistant", tool_calls=[call]),
        ChatMessage("tool", "9:00", tool_call_id="call_1"),
    ]
    run(model, ModelRequest(other, tools=[WEATHER, TIME]))
    call = ToolCall("call_2", "get_weather", {"city": "Paris"})
    done = [
        *other,
        ChatMessage("assistant", tool_calls=[call]),
        ChatMessage("tool", "sunny", tool_call_id="call_2"),
    ]
    run(model, ModelRequest(done, tools=[WEATHER, TIME]))
    forced = {"type": "function", "function": {"name": "get_weather"}}
    assert [body["tool_choice"] for body in sent] == [forced, forced, "auto"]
