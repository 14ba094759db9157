"""A run's trace, built from its journal: the tree of spans `stigmer execution trace`, the
dashboard and the OpenTelemetry export share, on both engines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stigmer.api.agentexecution.v1.agentexecution_pb2 import ExecutionLimits
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.runs import retried_agent_execution
from stigmer.resources.trace_ids import parse_traceparent, run_span_id, trace_id_of
from stigmer.telemetry.trace import Span, Trace, build_trace
from tests.builders import agent
from tests.fixtures.http_counter import Hits, counting_server
from tests.runners.conftest import Runs, calls, helpdesk, scripted
from tests.runners.flows import Flows

P = ExecutionPhase


@pytest.fixture
def http_server() -> Iterator[Hits]:
    with counting_server() as hits:
        yield hits


def names(span: Span) -> list[str]:
    return [c.name for c in span.children]


def only(span: Span, name: str) -> Span:
    (found,) = [c for c in span.children if c.name == name]
    return found


def check_tree(trace: Trace) -> None:
    """Every span hangs under its parent's id, every id is unique, and each child run's
    recorded traceparent names the span it hangs under."""
    seen: set[str] = set()

    def visit(span: Span) -> None:
        assert span.span_id not in seen
        seen.add(span.span_id)
        for child in span.children:
            assert child.parent_id == span.span_id
            if child.kind in ("agent", "workflow"):
                assert child.span_id == run_span_id(child.execution_id)
            visit(child)

    visit(trace.root)


def test_a_workflow_s_trace_holds_its_tasks_items_requests_and_child_runs(
    flows: Flows, http_server: Hits
) -> None:
    flows.backend.apply([agent("echo", model="scripted")])
    flows.apply("inner", [{"name": "note", "set": {"n": 1}}])
    flows.apply(
        "tour",
        [
            {"name": "fetch", "http": {"method": "POST", "url": http_server.url + "/hook", "body": {"a": 1}}},
            {
                "name": "each",
                "forEach": {
                    "items": '${["ann", "bob"]}',
                    "do": {"name": "hi", "agent": "echo", "message": "${item}"},
                },
            },
            {"name": "nested", "workflow": "inner"},
        ],
    )
    done = flows.run("tour")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    trace = build_trace(flows.backend, done.metadata.id)
    check_tree(trace)
    root = trace.root
    assert trace.trace_id == trace_id_of(done.metadata.id)
    assert (root.name, root.kind, root.status) == ("workflow tour", "workflow", "ok")
    assert sorted(names(root)) == ["task each", "task fetch", "task nested"]

    (request,) = only(root, "task fetch").children
    assert (request.kind, request.name) == ("http", "POST")
    assert request.attributes["http.request.method"] == "POST"
    assert request.attributes["url.full"] == http_server.url + "/hook"
    assert request.attributes["http.response.status_code"] == 201
    assert request.attributes["server.address"] == "127.0.0.1"

    each = only(root, "task each")
    assert names(each) == ["task each[0]", "task each[1]"]
    for item in each.children:
        (run,) = item.children
        assert (run.name, run.kind, run.status) == ("invoke_agent echo", "agent", "ok")
        assert run.attributes["gen_ai.operation.name"] == "invoke_agent"
        assert run.attributes["gen_ai.agent.name"] == "echo"
        (chat,) = run.children
        assert chat.name == "chat scripted"
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.provider.name"] == "scripted"
        assert chat.attributes["gen_ai.response.finish_reasons"] == ["stop"]
        assert chat.attributes["gen_ai.usage.input_tokens"] == chat.input_tokens > 0
        child = flows.backend.get_execution(run.execution_id)
        assert parse_traceparent(child.spec.trace_parent) == (trace.trace_id, item.span_id)

    (inner,) = only(root, "task nested").children
    assert (inner.name, inner.kind) == ("workflow inner", "workflow")
    assert names(inner) == ["task note"]
    # The run counts the tokens of the model calls under it, as its record does.
    assert root.model_calls == 2
    assert root.input_tokens == done.status.usage.input_tokens
    assert root.output_tokens == done.status.usage.output_tokens
    # Every span ended within its run.
    for span in trace.spans():
        assert span.start is not None and span.end is not None and span.start <= span.end


def test_an_agent_s_trace_holds_its_model_calls_tool_calls_and_sub_agents(runs: Runs) -> None:
    runs.agent("echo", model="scripted", description="Repeats.")
    runs.agent(
        "boss",
        model=scripted(calls("find_order", id="A-1"), calls("echo", message="ping"), {"text": "Done."}),
        mcpServers=[helpdesk(runs.log)],
        subAgents=["echo"],
    )
    done = runs.run("boss", "go")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    trace = build_trace(runs.backend, done.metadata.id)
    check_tree(trace)
    root = trace.root
    assert names(root) == [
        "chat scripted",
        "execute_tool find_order",
        "chat scripted",
        "execute_tool echo",
        "chat scripted",
    ]
    tool = root.children[1]
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "find_order"
    assert tool.attributes["gen_ai.tool.call.id"]
    assert tool.attributes["stigmer.mcp.server"] == "helpdesk"
    assert root.children[0].attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]
    (sub,) = root.children[3].children
    assert (sub.name, sub.kind) == ("invoke_agent echo", "agent")
    child = runs.backend.get_execution(sub.execution_id)
    assert parse_traceparent(child.spec.trace_parent) == (trace.trace_id, root.children[3].span_id)
    assert root.model_calls == done.status.usage.model_calls == 4
    # As data, for -o json and the dashboard: offsets from the start of the run.
    data = trace.to_dict()
    assert data["root"]["offsetMs"] == 0
    assert [c["name"] for c in data["root"]["children"]][:2] == ["chat scripted", "execute_tool find_order"]
    assert data["modelCalls"] == 4


def test_a_retry_s_trace_marks_the_steps_it_replayed(runs: Runs) -> None:
    runs.agent(
        "looper", model=scripted(calls("nowhere"), calls("nowhere"), {"text": "ok"}), limits={"maxTurns": 1}
    )
    stopped = runs.run("looper", "go")
    retry = retried_agent_execution(runs.backend, stopped.metadata.id, limits=ExecutionLimits(max_turns=5))
    done = runs.resume(retry.metadata.id)
    assert done.status.phase == P.COMPLETED, done.status.error.message
    root = build_trace(runs.backend, done.metadata.id).root
    # (an unknown tool is an error the model is told about)
    assert [c.status for c in root.children] == ["reused", "reused", "ok", "error", "ok"]
    assert {c.reused_from for c in root.children[:2]} == {stopped.metadata.id}
    assert root.model_calls == 2  # its own calls, as its record counts them
