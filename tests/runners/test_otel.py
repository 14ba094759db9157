"""OpenTelemetry traces of runs: a real OTLP/HTTP receiver on 127.0.0.1 collects the spans of an
agent with MCP tools and a sub-agent, and of a workflow with a child workflow and a forEach, on
both engines; the test checks the tree and the GenAI attributes."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.config import TelemetrySettings
from stigmer.engine.local import run_claimed
from stigmer.prices import Price, Prices
from stigmer.resources.trace_ids import run_span_id, trace_id_of
from stigmer.runners.settings import RunSettings
from stigmer.telemetry import metrics
from stigmer.telemetry.otel import close, flush_all
from tests.builders import agent
from tests.clock import FakeClock, WallClock
from tests.fixtures.openai_fake import fake_openai
from tests.fixtures.otlp import Received, ReceivedSpan, otlp_receiver
from tests.runners.conftest import WORKER, Runs, calls, helpdesk, scripted
from tests.runners.flows import Flows

P = ExecutionPhase
PRICES = Prices({"scripted": Price(input=1_000_000, output=1_000_000)})


@pytest.fixture
def clock() -> FakeClock:
    """The store's clock on the wall clock's time: spans from the store and from the runners line up."""
    return WallClock()


@pytest.fixture
def receiver() -> Iterator[Received]:
    with otlp_receiver() as received:
        yield received


@pytest.fixture
def run_settings(receiver: Received) -> Iterator[RunSettings]:
    """Runs export their spans to the receiver (the engines of ``flows`` too)."""
    settings = RunSettings(prices=PRICES, telemetry=TelemetrySettings(endpoint=receiver.url))
    yield settings
    assert settings.telemetry is not None
    close(settings.telemetry)
    metrics.reset()


def run(runs: Runs, execution_id: str, settings: RunSettings) -> None:
    asyncio.run(run_claimed(runs.backend, execution_id, worker_id=WORKER, settings=settings))


def children(received: Received, parent: ReceivedSpan) -> list[ReceivedSpan]:
    return sorted((s for s in received.spans if s.parent_id == parent.span_id), key=lambda s: s.start_ns)


def boss(runs: Runs) -> str:
    runs.agent("echo", model="scripted", description="Repeats.")
    runs.agent(
        "boss",
        model=scripted(calls("find_order", id="A-1"), calls("echo", message="ping"), {"text": "Done."}),
        mcpServers=[helpdesk(runs.log)],
        subAgents=["echo"],
    )
    return runs.create("boss", "Where is A-1?")


def test_an_agent_run_is_one_trace_of_genai_spans(
    runs: Runs, receiver: Received, run_settings: RunSettings
) -> None:
    execution_id = boss(runs)
    run(runs, execution_id, run_settings)
    flush_all()
    receiver.wait(lambda r: len(r.spans) >= 8)
    assert len(receiver.spans) == 8
    assert {s.trace_id for s in receiver.spans} == {trace_id_of(execution_id)}
    assert len({s.span_id for s in receiver.spans}) == 8

    (root,) = [s for s in receiver.spans if not s.parent_id]
    assert (root.name, root.kind, root.status) == (
        "invoke_agent boss",
        "SPAN_KIND_INTERNAL",
        "STATUS_CODE_UNSET",
    )
    assert root.span_id == run_span_id(execution_id)
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.agent.name"] == "boss"
    assert root.attributes["gen_ai.provider.name"] == "scripted"
    assert root.attributes["stigmer.execution.id"] == execution_id
    assert root.resource["service.name"] == "stigmer"
    done = runs.backend.get_execution(execution_id)
    assert root.attributes["gen_ai.usage.input_tokens"] == done.status.usage.input_tokens
    assert root.attributes["stigmer.cost.usd"] == pytest.approx(done.status.usage.cost)

    steps = children(receiver, root)
    assert [s.name for s in steps] == [
        "chat scripted",
        "execute_tool find_order",
        "chat scripted",
        "execute_tool echo",
        "chat scripted",
    ]
    chat = steps[0]
    assert chat.kind == "SPAN_KIND_CLIENT"
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.provider.name"] == "scripted"
    assert chat.attributes["gen_ai.request.model"] == "scripted"
    assert chat.attributes["gen_ai.response.model"] == "scripted"
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert chat.attributes["gen_ai.usage.input_tokens"] > 0
    assert chat.attributes["gen_ai.usage.output_tokens"] > 0
    assert steps[4].attributes["gen_ai.response.finish_reasons"] == ["stop"]
    tool = steps[1]
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "find_order"
    assert tool.attributes["gen_ai.tool.call.id"]
    assert tool.attributes["stigmer.mcp.server"] == "helpdesk"
    # The sub-agent's run is a child of the tool call that started it, in the same trace.
    (sub,) = children(receiver, steps[3])
    assert (sub.name, sub.attributes["gen_ai.agent.name"]) == ("invoke_agent echo", "echo")
    assert [s.name for s in children(receiver, sub)] == ["chat scripted"]
    # Prompts and completions stay out unless asked for.
    assert not any("gen_ai.input.messages" in s.attributes for s in receiver.spans)
    assert not any(s.start_ns > s.end_ns for s in receiver.spans)


def test_a_model_call_names_the_model_that_answered(
    runs: Runs, receiver: Received, run_settings: RunSettings
) -> None:
    # OpenAI answers an alias with the dated model that served it; the span says both.
    with fake_openai(model="gpt-4o-mini-2024-07-18", answer="Hi.") as api:
        options = {"baseUrl": api.url, "apiKey": "sk-test", "maxRetries": 0}
        runs.agent("greeter", model={"provider": "openai", "name": "gpt-4o-mini", "options": options})
        execution_id = runs.create("greeter", "Hello")
        run(runs, execution_id, run_settings)
    flush_all()
    receiver.wait(lambda r: len(r.spans) >= 2)
    (chat,) = receiver.named("chat ")
    assert chat.name == "chat gpt-4o-mini"
    assert chat.attributes["gen_ai.provider.name"] == "openai"
    assert chat.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat.attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"


def test_content_is_exported_only_when_asked_for(runs: Runs, receiver: Received) -> None:
    telemetry = TelemetrySettings(endpoint=receiver.url, capture_content=True)
    settings = RunSettings(telemetry=telemetry)
    runs.agent(
        "finder",
        model=scripted(calls("find_order", id="A-7"), {"text": "It shipped."}),
        mcpServers=[helpdesk(runs.log)],
    )
    execution_id = runs.create("finder", "Where is A-7?")
    try:
        run(runs, execution_id, settings)
        flush_all()
        receiver.wait(lambda r: len(r.spans) >= 4)
    finally:
        close(telemetry)
    first, second = sorted(receiver.named("chat "), key=lambda s: s.start_ns)
    sent = json.loads(first.attributes["gen_ai.input.messages"])
    assert sent == [{"role": "user", "parts": [{"type": "text", "content": "Where is A-7?"}]}]
    replied = json.loads(first.attributes["gen_ai.output.messages"])
    assert replied[0]["parts"][0]["type"] == "tool_call" and replied[0]["finish_reason"] == "tool_calls"
    assert [m["role"] for m in json.loads(second.attributes["gen_ai.input.messages"])] == [
        "user",
        "assistant",
        "tool",
    ]
    (tool,) = receiver.named("execute_tool ")
    assert json.loads(tool.attributes["gen_ai.tool.call.arguments"]) == {"id": "A-7"}
    assert "A-7" in tool.attributes["gen_ai.tool.call.result"]


def test_telemetry_off_sends_nothing(runs: Runs, receiver: Received) -> None:
    runs.agent("echo", model="scripted")
    run(runs, runs.create("echo", "hi"), RunSettings())
    flush_all()
    assert receiver.requests == 0


def test_a_workflow_with_a_child_workflow_and_a_for_each_is_one_trace(
    flows: Flows, receiver: Received
) -> None:
    flows.backend.apply([agent("echo", model="scripted")])
    flows.apply("inner", [{"name": "note", "set": {"n": 1}}])
    flows.apply(
        "outer",
        [
            {"name": "first", "set": {"x": 1}},
            {
                "name": "each",
                "dependsOn": ["first"],
                "forEach": {
                    "items": '${["ann", "bob"]}',
                    "do": {"name": "hi", "agent": "echo", "message": "${item}"},
                },
            },
            {"name": "nested", "dependsOn": ["first"], "workflow": "inner"},
        ],
    )
    done = flows.run("outer")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    flush_all()
    # outer: run + 3 tasks + 2 items; 2 agent runs with a chat each; inner: run + 1 task.
    receiver.wait(lambda r: len(r.spans) >= 12)
    assert len(receiver.spans) == 12
    assert {s.trace_id for s in receiver.spans} == {trace_id_of(done.metadata.id)}
    (root,) = [s for s in receiver.spans if not s.parent_id]
    assert root.name == "workflow outer"
    tasks = {s.name: s for s in children(receiver, root)}
    assert set(tasks) == {"task first", "task each", "task nested"}
    items = children(receiver, tasks["task each"])
    assert sorted(s.name for s in items) == ["task each[0]", "task each[1]"]
    for item in items:
        (agent_run,) = children(receiver, item)
        assert agent_run.attributes["gen_ai.operation.name"] == "invoke_agent"
        (chat,) = children(receiver, agent_run)
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert item.start_ns <= agent_run.start_ns and agent_run.end_ns <= item.end_ns
    (inner,) = children(receiver, tasks["task nested"])
    assert inner.name == "workflow inner"
    assert [s.name for s in children(receiver, inner)] == ["task note"]
    assert tasks["task each"].attributes["stigmer.task.attempt"] == 1


def test_metrics_go_to_the_collector_too(runs: Runs, receiver: Received, run_settings: RunSettings) -> None:
    runs.agent("echo", model="scripted")
    run(runs, runs.create("echo", "hello there"), run_settings)
    made = metrics.current()
    assert made is not None
    made.provider.force_flush()
    receiver.wait(lambda r: any(m[0] == "gen_ai.client.token.usage" for m in r.metrics))
    got = {(name, tuple(sorted(labels.items()))): value for name, labels, value in receiver.metrics}
    model = (
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "scripted"),
        ("gen_ai.request.model", "scripted"),
    )
    assert got["stigmer.executions.started", (("kind", "agent"),)] == 1
    assert got["stigmer.executions.finished", (("kind", "agent"), ("phase", "COMPLETED"))] == 1
    # In: "You answer questions." and "hello there"; out: "echo: hello there".
    assert got["gen_ai.client.token.usage", tuple(sorted((*model, ("gen_ai.token.type", "input"))))] == (1, 5)
    assert got["gen_ai.client.token.usage", tuple(sorted((*model, ("gen_ai.token.type", "output"))))] == (
        1,
        3,
    )
    assert got["gen_ai.client.operation.duration", model][0] == 1
    assert got["stigmer.cost", model] == 8


def test_runs_started_and_taken_over_are_counted_on_both_engines(
    flows: Flows, receiver: Received, run_settings: RunSettings
) -> None:
    flows.backend.apply([agent("echo", model="scripted")])
    flows.apply("greet", [{"name": "hi", "agent": "echo", "message": "hello"}])
    assert flows.run("greet").status.phase == P.COMPLETED
    # A run whose worker died (its process is gone) is taken over by the engine's next claim.
    doomed = flows.start("greet")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert flows.backend.claim_execution(f"{socket.gethostname()}:{gone.pid}:dead00", execution_id=doomed)
    done = flows.resume(doomed)
    assert done.status.phase == P.COMPLETED and done.status.taken_over_from
    made = metrics.current()
    assert made is not None
    made.provider.force_flush()
    receiver.wait(lambda r: any(m[0] == "stigmer.lease.takeovers" for m in r.metrics))
    got = {(name, tuple(sorted(labels.items()))): value for name, labels, value in receiver.metrics}
    # Two workflow runs, each with an agent run of its task, started; the second taken over.
    assert got["stigmer.executions.started", (("kind", "workflow"),)] == 2
    assert got["stigmer.executions.started", (("kind", "agent"),)] == 2
    assert got["stigmer.lease.takeovers", (("kind", "workflow"),)] == 1
    assert ("stigmer.lease.takeovers", (("kind", "agent"),)) not in got


def test_a_run_that_waits_for_a_person_sends_what_it_did_while_it_waits(
    flows: Flows, receiver: Received, run_settings: RunSettings
) -> None:
    flows.apply(
        "gated",
        [
            {"name": "first", "set": {"x": 1}},
            {"name": "ok", "dependsOn": ["first"], "approval": {"message": "go?"}},
            {"name": "after", "dependsOn": ["ok"], "set": {"y": 2}},
        ],
    )
    execution_id = flows.start("gated")
    assert flows.resume(execution_id).status.phase == P.WAITING_APPROVAL
    flush_all()
    # While it waits: the task that ended, in the run's trace, under the run's span to come.
    receiver.wait(lambda r: len(r.spans) >= 1)
    (first,) = receiver.spans
    assert first.name == "task first"
    assert (first.trace_id, first.parent_id) == (trace_id_of(execution_id), run_span_id(execution_id))

    flows.backend.resolve_approval(execution_id, approved=True)
    assert flows.resume(execution_id).status.phase == P.COMPLETED
    flush_all()
    # When it ends: the rest, each span once, in the same trace.
    receiver.wait(lambda r: any(not s.parent_id for s in r.spans))
    names = sorted(s.name for s in receiver.spans)
    assert names == ["approval ok", "task after", "task first", "task ok", "workflow gated"]
    assert len({s.span_id for s in receiver.spans}) == 5
    assert {s.trace_id for s in receiver.spans} == {trace_id_of(execution_id)}
    (approval,) = receiver.named("approval ")
    assert approval.attributes["stigmer.approval.approved"] is True
