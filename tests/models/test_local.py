"""The local provider end to end with the real embedded SmolLM2-135M, plus its decoding helpers.

The model is loaded once per process (the provider caches it) and runs with its default
seed, so every answer here is deterministic.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from stigmer.models.local import (
    AnswerText,
    LocalModel,
    LocalProvider,
    StrictJson,
    embedded_model_path,
    to_llama_messages,
    tool_schema,
)
from stigmer.models.registry import resolve_model
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

WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ADD = ToolSpec(
    "add",
    "Add two numbers.",
    {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
    },
)
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def model() -> LocalModel:
    model = resolve_model("local", "smollm2")
    assert isinstance(model, LocalModel)
    return model


def run(model: LocalModel, request: ModelRequest) -> list[ModelEvent]:
    async def go() -> list[ModelEvent]:
        return [event async for event in model.stream(request)]

    return asyncio.run(go())


def test_streams_an_answer(model: LocalModel) -> None:
    events = run(model, ModelRequest([ChatMessage("user", "Say hello in one short sentence.")]))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1
    assert "".join(deltas).strip()
    usage = events[-2]
    assert isinstance(usage, UsageEvent) and usage.input_tokens > 0 and usage.output_tokens > 0
    assert events[-1] == Finish("end_turn", model.path.name)
    assert model.id == "local/smollm2"


def test_calls_an_offered_tool_with_valid_arguments(model: LocalModel) -> None:
    request = ModelRequest([ChatMessage("user", "What is the weather in Paris?")], tools=[WEATHER, ADD])
    events = run(model, request)
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert [c.name for c in calls] == ["get_weather"]
    jsonschema.validate(calls[0].arguments, WEATHER.parameters)
    assert calls[0].arguments == {"city": "Paris"}
    assert calls[0].id == "call_0_0"
    assert events[-1] == Finish("tool_use", model.path.name)
    assert not [e for e in events if isinstance(e, TextDelta)]


def test_answers_after_the_tool_result(model: LocalModel) -> None:
    # Measured: SmolLM2 would repeat the call; a call already answered is replaced by an answer.
    call = ToolCall("call_0_0", "get_weather", {"city": "Paris"})
    request = ModelRequest(
        [
            ChatMessage("user", "What is the weather in Paris?"),
            ChatMessage("assistant", tool_calls=[call]),
            ChatMessage("tool", "Sunny, 22 C", tool_call_id=call.id),
        ],
        tools=[WEATHER, ADD],
    )
    events = run(model, request)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text.strip()
    assert "22" in text
    assert not [e for e in events if isinstance(e, ToolCallEvent)]
    assert events[-1] == Finish("end_turn", model.path.name)


def test_structured_output_matches_the_schema(model: LocalModel) -> None:
    request = ModelRequest(
        [ChatMessage("user", "Alice is 31 years old. Give her name and age.")], output_schema=PERSON
    )
    text, calls, _, reason = asyncio.run(collect(model, request))
    assert (calls, reason) == ([], "end_turn")
    answer = json.loads(text)  # strict JSON: no raw control characters
    jsonschema.validate(answer, PERSON)
    assert answer == {"name": "Alice", "age": 31}


def test_structured_output_with_tools_is_the_answer_after_the_call(model: LocalModel) -> None:
    schema = {"type": "object", "properties": {"result": {"type": "number"}}, "required": ["result"]}
    call = ToolCall("call_0_0", "add", {"a": 17, "b": 25})
    request = ModelRequest(
        [
            ChatMessage("user", "What is 17 plus 25?"),
            ChatMessage("assistant", tool_calls=[call]),
            ChatMessage("tool", "42", tool_call_id=call.id),
        ],
        tools=[WEATHER, ADD],
        output_schema=schema,
    )
    text, calls, _, reason = asyncio.run(collect(model, request))
    assert (calls, reason) == ([], "end_turn")
    assert json.loads(text) == {"result": 42}


def test_the_event_loop_keeps_running_while_the_model_generates(model: LocalModel) -> None:
    async def go() -> tuple[int, str]:
        ticks = 0
        done = asyncio.Event()

        async def tick() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.005)

        ticker = asyncio.create_task(tick())
        text, _, _, _ = await collect(
            model, ModelRequest([ChatMessage("user", "Name three colours.")], max_tokens=32)
        )
        done.set()
        await ticker
        return ticks, text

    ticks, text = asyncio.run(go())
    assert text.strip()
    assert ticks > 5


def test_leaving_a_stream_early_frees_the_model(model: LocalModel) -> None:
    async def go() -> str:
        stream = model.stream(ModelRequest([ChatMessage("user", "Count from one to fifty in words.")]))
        assert isinstance(stream, AsyncGenerator)
        first = await anext(stream)
        assert isinstance(first, TextDelta)
        await stream.aclose()  # waits for the worker thread, which releases the model
        text, _, _, _ = await collect(model, ModelRequest([ChatMessage("user", "Say hi.")], max_tokens=16))
        return text

    assert asyncio.run(go()).strip()


def test_max_tokens_cuts_the_answer(model: LocalModel) -> None:
    events = run(
        model, ModelRequest([ChatMessage("user", "Tell me a long story about a dragon.")], max_tokens=5)
    )
    assert events[-1] == Finish("max_tokens", model.path.name)
    usage = events[-2]
    assert isinstance(usage, UsageEvent) and usage.output_tokens <= 6


def test_a_conversation_longer_than_the_context_is_an_error_with_a_hint(model: LocalModel) -> None:
    with pytest.raises(ModelError) as caught:
        asyncio.run(collect(model, ModelRequest([ChatMessage("user", "word " * 3000)])))
    assert "exceed context window of 2048" in caught.value.message
    assert "options.contextSize" in caught.value.hint


def test_any_gguf_file_via_model_path() -> None:
    path = embedded_model_path()
    assert path is not None
    model = LocalProvider().model("", {"modelPath": str(path), "maxTokens": "8"})
    assert model.id == f"local/{path.stem}"
    text, _, _, _ = asyncio.run(collect(model, ModelRequest([ChatMessage("user", "Hi")])))
    assert text.strip()


def test_unknown_models_and_missing_files_are_errors_with_hints(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as caught:
        LocalProvider().model("llama-70b", {})
    assert "options.modelPath" in caught.value.hint
    with pytest.raises(ModelError) as caught:
        LocalProvider().model("", {"modelPath": str(tmp_path / "missing.gguf")})
    assert "GGUF" in caught.value.hint
    not_a_model = tmp_path / "broken.gguf"
    not_a_model.write_bytes(b"not a gguf file")
    with pytest.raises(ModelError) as caught:
        asyncio.run(collect(LocalProvider().model("", {"modelPath": str(not_a_model)}), ModelRequest([])))
    assert "cannot load the model" in caught.value.message


def test_availability_names_what_is_installed() -> None:
    availability = LocalProvider().availability()
    assert availability.usable
    assert "smollm2" in availability.reason


# --- the decoding helpers ---------------------------------------------------------------


def test_tool_schema_is_an_answer_or_one_call_of_an_offered_tool() -> None:
    schema = tool_schema([WEATHER, ADD])
    answer, weather, add = schema["anyOf"]
    assert answer["properties"]["answer"] == {"type": "string", "minLength": 1}
    assert weather["properties"] == {"tool": {"const": "get_weather"}, "arguments": WEATHER.parameters}
    assert add["properties"]["arguments"] == ADD.parameters
    jsonschema.validate({"answer": "hi"}, schema)
    jsonschema.validate({"tool": "add", "arguments": {"a": 1, "b": 2}}, schema)
    for wrong in (
        {"answer": ""},
        {"tool": "add", "arguments": {"city": "x"}},
        {"tool": "rm", "arguments": {}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)


def test_answer_text_decodes_while_the_json_streams() -> None:
    decoder = AnswerText()
    pieces = ['{ "ans', 'wer" : "It\\', "n", "s 2", "2\\u00b0C ", "\\ud83d\\ude00", '\\"ok\\""', " }"]
    out = "".join(decoder.feed(p) for p in pieces)
    assert out == 'It\ns 22°C 😀"ok"'
    assert json.loads(decoder.raw)["answer"] == out
    calls = AnswerText()
    assert calls.feed('{"tool": "add", "arguments": {"a": 1}}') == ""


def test_strict_json_escapes_raw_control_characters_in_strings() -> None:
    strict = StrictJson()
    out = "".join(strict.feed(p) for p in ['{"poem": "line one', "\nline \\", '"two\\"', '"}\n'])
    assert json.loads(out) == {"poem": 'line one\nline "two"'}
    assert out.endswith("}\n")  # whitespace outside strings is left alone


def test_tool_history_is_written_the_way_the_model_replies() -> None:
    call = ToolCall("c1", "add", {"a": 1, "b": 2})
    messages = to_llama_messages(
        ModelRequest(
            [
                ChatMessage("system", "Be brief."),
                ChatMessage("user", "1+2?"),
                ChatMessage("assistant", tool_calls=[call]),
                ChatMessage("tool", "3", tool_call_id="c1"),
                ChatMessage("assistant", "3"),
            ],
            tools=[ADD],
        ),
        tool_mode=True,
    )
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert messages[0]["content"].startswith("Be brief.\n\nYou can call these tools:")
    assert json.loads(messages[2]["content"]) == {"tool": "add", "arguments": {"a": 1, "b": 2}}
    assert messages[3]["content"].startswith("add returned: 3")
    assert json.loads(messages[4]["content"]) == {"answer": "3"}
