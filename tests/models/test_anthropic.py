"""The anthropic provider at the HTTP layer: recorded Messages API streams, replayed in-process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from stigmer.models.anthropic import AnthropicProvider, to_anthropic_messages
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
)
from tests.models.cassettes import SCRUBBED, Cassette

KEY = "sk-ant-api03-test-key-not-real"
Open = Callable[[str, str], Cassette]

WEATHER = ToolSpec(
    "get_weather",
    "Current weather of a city.",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
)


def events(recording: Cassette, name: str, request: ModelRequest, **options: Any) -> list[ModelEvent]:
    provider = AnthropicProvider(http_client=recording.client())
    model = provider.model(name, {"apiKey": KEY, **options})

    async def run() -> list[ModelEvent]:
        return [event async for event in model.stream(request)]

    return asyncio.run(run())


def test_streams_text_with_the_system_prompt(cassette: Open) -> None:
    recording = cassette("anthropic_text_stream", KEY)
    request = ModelRequest(
        [
            ChatMessage("system", "You are terse. Answer in one sentence."),
            ChatMessage("user", "What is the capital of France?"),
        ],
        temperature=0.2,
    )
    assert events(recording, "claude-sonnet-5", request) == [
        TextDelta("The capital"),
        TextDelta(" of France is Paris."),
        UsageEvent(input_tokens=24, output_tokens=11),
        Finish("end_turn", "claude-sonnet-5"),
    ]
    sent = recording.requests[0]
    assert sent["body"]["system"] == "You are terse. Answer in one sentence."
    assert "tools" not in sent["body"]
    # The key went out (the recording checked it) and is kept only as a scrubbed marker.
    assert sent["headers"]["authorization"] == SCRUBBED
    assert KEY not in json.dumps(recording.requests)


def test_tool_use_is_assembled_from_input_json_deltas_and_results_go_back(cassette: Open) -> None:
    recording = cassette("anthropic_tool_round_trip", KEY)
    conversation = [
        ChatMessage("system", "You help travellers."),
        ChatMessage("user", "What's the weather in Paris right now?"),
    ]
    first = events(recording, "claude-sonnet-5", ModelRequest(conversation, tools=[WEATHER], max_tokens=1024))
    call = ToolCall("toolu_01A09q90qw90lq917835lq9", "get_weather", {"city": "Paris", "unit": "celsius"})
    assert first == [
        TextDelta("I'll check the current"),
        TextDelta(" weather in Paris."),
        ToolCallEvent(call),
        UsageEvent(input_tokens=612, output_tokens=71),
        Finish("tool_use", "claude-sonnet-5"),
    ]
    assert recording.requests[0]["body"]["tools"][0]["input_schema"] == WEATHER.parameters

    conversation += [
        ChatMessage("assistant", "I'll check the current weather in Paris.", tool_calls=[call]),
        ChatMessage("tool", '{"temperature": 18, "conditions": "partly cloudy"}', tool_call_id=call.id),
    ]
    second = events(
        recording, "claude-sonnet-5", ModelRequest(conversation, tools=[WEATHER], max_tokens=1024)
    )
    assert "".join(e.text for e in second if isinstance(e, TextDelta)) == (
        "It's 18°C and partly cloudy in Paris right now."
    )
    assert second[-1] == Finish("end_turn", "claude-sonnet-5")
    messages = recording.requests[1]["body"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"][1] == {
        "type": "tool_use",
        "id": call.id,
        "name": "get_weather",
        "input": {"city": "Paris", "unit": "celsius"},
    }
    assert messages[2]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": call.id,
            "content": '{"temperature": 18, "conditions": "partly cloudy"}',
        }
    ]


def test_structured_output_is_a_forced_tool_whose_input_is_the_answer(cassette: Open) -> None:
    recording = cassette("anthropic_structured_output", KEY)
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }
    request = ModelRequest(
        [ChatMessage("user", 'Extract the city and the country: "I moved to Lyon, in France, last spring."')],
        output_schema=schema,
    )
    got = events(recording, "claude-haiku-4-5", request)
    text = "".join(e.text for e in got if isinstance(e, TextDelta))
    assert json.loads(text) == {"city": "Lyon", "country": "France"}
    assert not [e for e in got if isinstance(e, ToolCallEvent)]
    assert got[-1] == Finish("end_turn", "claude-haiku-4-5-20251001")  # the forced tool is the answer
    # (not a call to run); the response names the dated model that served the alias asked for
    assert recording.requests[0]["body"]["tool_choice"] == {"type": "tool", "name": "structured_output"}


@pytest.mark.parametrize(
    ("name", "message", "hint"),
    [
        ("anthropic_error_401", "HTTP 401: invalid x-api-key", "ANTHROPIC_API_KEY"),
        ("anthropic_error_529", "HTTP 529: Overloaded", "overloaded"),
        ("anthropic_error_midstream", "Overloaded", "overloaded"),
    ],
)
def test_errors_say_what_to_do_and_never_show_the_key(
    cassette: Open, name: str, message: str, hint: str
) -> None:
    recording = cassette(name, KEY)
    prompt = "Write a haiku about queues." if name.endswith("midstream") else "Hello"
    with pytest.raises(ModelError) as caught:
        events(recording, "claude-sonnet-5", ModelRequest([ChatMessage("user", prompt)]), maxRetries=0)
    assert message in caught.value.message
    assert hint in caught.value.hint
    assert KEY not in f"{caught.value} {caught.value.hint}"


def test_messages_map_onto_blocks() -> None:
    call = ToolCall("toolu_1", "lookup", {"q": "x"})
    other = ToolCall("toolu_2", "lookup", {"q": "y"})
    system, messages = to_anthropic_messages(
        [
            ChatMessage("system", "Be brief."),
            ChatMessage("system", "Use tools."),
            ChatMessage("user", "Find x and y."),
            ChatMessage("assistant", tool_calls=[call, other]),
            ChatMessage("tool", "found x", tool_call_id="toolu_1"),
            ChatMessage("tool", "no such y", tool_call_id="toolu_2", is_error=True),
        ]
    )
    assert system == "Be brief.\n\nUse tools."
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    # Both results of one turn travel in one user message, as the API requires.
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "found x"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "no such y", "is_error": True},
    ]


def test_no_key_is_an_error_with_a_hint() -> None:
    with pytest.raises(ModelError) as caught:
        AnthropicProvider().model("claude-sonnet-5", {})
    assert "ANTHROPIC_API_KEY" in caught.value.hint


def test_availability_follows_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = AnthropicProvider()
    assert not provider.availability().usable
    assert "ANTHROPIC_API_KEY is not set" in provider.availability().reason
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    assert provider.availability().usable
