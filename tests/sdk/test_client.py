"""The SDK's Client on the local backend and on a real server: resources, runs, streams, errors.

Every test runs twice: on a LocalBackend (runs happen in this process) and on a
RemoteBackend to a server on 127.0.0.1 whose worker runs them (the client follows).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import Backend
from stigmer.errors import (
    AlreadyExists,
    Conflict,
    ExecutionFailed,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from stigmer.sdk.client import Client
from stigmer.sdk.events import Event, TaskChanged, TextDelta, ToolFinished, ToolStarted, TurnEnded
from stigmer.testing import sandbox, scripted, tool_call
from tests.builders import mcp_server, skill, workflow
from tests.clock import FakeClock

HELPDESK = Path(__file__).resolve().parents[2] / "examples" / "mcpservers" / "helpdesk_server.py"


def open_backend(backend_type: str, tmp_path: Path, clock: FakeClock) -> Backend:
    """A LocalBackend, or a RemoteBackend to a server on 127.0.0.1 with a worker that runs executions."""
    if backend_type == "local":
        return LocalBackend.open(tmp_path / "local.db", clock=clock)
    from tests.server.embedded import served_remote

    return served_remote(tmp_path / "server.db", clock, worker=True)


@pytest.fixture
def client(backend_type: str, tmp_path: Path, clock: FakeClock) -> Iterator[Client]:
    backend = open_backend(backend_type, tmp_path, clock)
    try:
        with Client(backend=backend) as opened:
            yield opened
    finally:
        backend.close()


def helpdesk(log: Path, **usage: Any) -> dict[str, Any]:
    """The example helpdesk MCP server, inline over stdio, logging each call to ``log``."""
    return {
        "name": "helpdesk",
        "stdio": {"command": sys.executable, "args": [str(HELPDESK)], "env": {"HELPDESK_LOG": str(log)}},
        **usage,
    }


def agent(name: str, **spec: Any) -> dict[str, Any]:
    """An Agent in file form, as a user would write it in Python."""
    return {"kind": "Agent", "metadata": {"name": name}, "spec": {"instructions": "Help.", **spec}}


def joined(events: list[Event]) -> list[Event]:
    """Run events with consecutive text deltas joined (a server reports a turn's text at once)
    and turn ends left out (only a run in this process reports them)."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, TurnEnded):
            continue
        if isinstance(event, TextDelta) and out and isinstance(out[-1], TextDelta):
            out[-1] = TextDelta(out[-1].text + event.text)
        else:
            out.append(event)
    return out


# -- resources ----------------------------------------------------------------------------


def test_every_kind_is_applied_read_listed_and_deleted(client: Client) -> None:
    client.agents.apply(
        agent("bot", model="scripted"), {"metadata": {"name": "helper"}, "spec": {"instructions": "x"}}
    )
    client.workflows.apply(workflow("flow"))
    client.skills.apply(skill("notes"))
    client.mcp_servers.apply(mcp_server("tools"))
    client.environments.apply({"metadata": {"name": "staging"}, "spec": {"variables": {"REGION": "eu"}}})
    client.sessions.apply({"metadata": {"name": "chat"}, "spec": {"agent": "bot"}})
    client.agent_instances.apply({"metadata": {"name": "bot-staging"}, "spec": {"agent": "bot"}})
    client.workflow_instances.apply({"metadata": {"name": "flow-staging"}, "spec": {"workflow": "flow"}})

    assert [a.metadata.name for a in client.agents.list()] == ["bot", "helper"]
    assert client.agents.get("bot").spec.model.provider == "scripted"
    assert client.workflows.get("flow").spec.tasks[0].name == "greet"
    assert client.skills.get("notes").spec.content.startswith("# Notes")
    assert client.mcp_servers.get("tools").spec.stdio.command == "python"
    assert client.environments.get("staging").spec.variables["REGION"] == "eu"
    assert client.sessions.get("chat").spec.agent == "bot"
    assert client.agent_instances.get("bot-staging").spec.agent == "bot"
    assert client.workflow_instances.get("flow-staging").spec.workflow == "flow"
    # A default instance came with each definition.
    assert len(client.agent_instances.list()) == 3
    assert [i.metadata.name for i in client.agent_instances.iter(page_size=1)] == [
        i.metadata.name for i in client.agent_instances.list()
    ]

    changed = client.agents.apply(agent("bot", model="scripted", description="Says hi."))
    assert changed[0].action == "configured"
    assert [v.spec.version for v in client.agents.history("bot")] == [1, 2]
    assert client.agents.rollback("bot", 1).spec.description == ""

    for resources, name in (
        (client.sessions, "chat"),
        (client.agent_instances, "bot-staging"),
        (client.workflow_instances, "flow-staging"),
        (client.agents, "bot"),
        (client.workflows, "flow"),
        (client.skills, "notes"),
        (client.mcp_servers, "tools"),
        (client.environments, "staging"),
    ):
        assert resources.delete(name).metadata.name == name
        with pytest.raises(NotFound):
            resources.get(name)
    assert [a.metadata.name for a in client.agents.list()] == ["helper"]


def test_labels_select_what_is_listed(client: Client) -> None:
    client.skills.apply(skill("a", labels={"team": "cs"}), skill("b", labels={"team": "ops"}), skill("c"))
    assert [s.metadata.name for s in client.skills.list(labels={"team": "cs"})] == ["a"]


def test_apply_takes_several_kinds_at_once_and_writes_all_or_nothing(client: Client) -> None:
    outcomes = client.apply(
        agent("bot", model="scripted", skills=["notes"]),
        [
            skill("notes"),
            {"kind": "McpServer", "metadata": {"name": "tools"}, "spec": {"http": {"url": "http://x"}}},
        ],
    )
    assert [(type(o.resource).__name__, o.action) for o in outcomes] == [
        ("Agent", "created"),
        ("Skill", "created"),
        ("McpServer", "created"),
    ]
    assert client.apply(skill("notes"), dry_run=True)[0].action == "unchanged"

    broken = workflow("flow", [{"name": "b", "dependsOn": ["nowhere"], "set": {"x": 1}}])
    with pytest.raises(InvalidArgument) as refused:
        client.apply(skill("later"), broken)
    assert refused.value.field.startswith("spec.tasks[0]")
    with pytest.raises(NotFound):
        client.skills.get("later")


def test_a_typed_client_takes_only_its_kind(client: Client) -> None:
    with pytest.raises(InvalidArgument, match="expected a Agent, got a Skill") as wrong:
        client.agents.apply(skill("notes"))
    assert wrong.value.field == "kind"
    assert client.skills.list() == []


# -- typed errors -------------------------------------------------------------------------


def test_errors_are_typed(client: Client) -> None:
    with pytest.raises(NotFound, match="missing"):
        client.agents.get("missing")
    with pytest.raises(NotFound):
        client.agents.execute("missing", "hello")
    with pytest.raises(NotFound):
        client.executions.get("aex_00000000000000000000000000")

    client.agents.create(agent("bot", model="scripted"))
    with pytest.raises(AlreadyExists):
        client.agents.create(agent("bot", model="scripted"))

    stale = client.agents.get("bot")
    client.agents.apply(agent("bot", model="scripted", description="newer"))
    stale.spec.description = "older"
    with pytest.raises(Conflict):
        client.agents.update(stale)
    fresh = client.agents.get("bot")
    fresh.spec.description = "newest"
    assert client.agents.update(fresh).metadata.version == 3

    with pytest.raises(InvalidArgument) as unknown_field:
        client.agents.apply({"metadata": {"name": "x"}, "spec": {"instructions": "x", "bogus": 1}})
    assert unknown_field.value.field == "spec.bogus"
    assert unknown_field.value.resource == "Agent/x"

    client.workflows.apply(workflow("flow", inputs={"count": "integer"}))
    with pytest.raises(InvalidArgument) as bad_input:
        client.workflows.execute("flow", {"count": "three"})
    assert bad_input.value.field == "inputs.count"

    done = client.agents.execute("bot", "hi")
    with pytest.raises(Conflict, match="not waiting"):
        client.executions.approve(done.metadata.id)
    with pytest.raises(Conflict, match="nothing left to run"):
        client.executions.resume(done.metadata.id)


# -- agent runs ---------------------------------------------------------------------------


def test_an_agent_run_returns_its_final_record(client: Client) -> None:
    client.agents.apply(agent("greeter", model=scripted("Hello, Ada!")))
    done = client.agents.execute("greeter", "I am Ada", session="ada", labels={"case": "1"})
    assert isinstance(done, AgentExecution)
    assert done.status.phase == ExecutionPhase.COMPLETED
    assert done.status.output == "Hello, Ada!"
    assert done.spec.session == "ada"
    assert done.metadata.labels["case"] == "1"
    assert client.sessions.get("ada").spec.agent == "greeter"
    # The same session goes on: the script's next turn is past its end, so the model echoes.
    again = client.agents.execute("greeter", "and again", session="ada")
    assert again.status.output == "echo: and again"
    assert [e.metadata.id for e in client.executions.list(kind="agent")] == [
        again.metadata.id,
        done.metadata.id,
    ]
    assert [s.name for s in client.executions.steps(done.metadata.id)] == ["model"]


def test_a_run_left_to_a_worker_is_returned_pending(client: Client) -> None:
    client.agents.apply(agent("bot", model="scripted"))
    queued = client.agents.execute("bot", "later", wait=False)
    assert queued.status.phase == ExecutionPhase.PENDING
    with pytest.raises(InvalidArgument):
        client.agents.execute("bot", "later", wait=False, stream=True)


def test_stream_yields_tool_calls_results_and_text_in_order(client: Client, tmp_path: Path) -> None:
    client.agents.apply(
        agent(
            "support",
            model=scripted(tool_call("find_order", id="A-1"), {"echoToolResult": True}),
            mcpServers=[helpdesk(tmp_path / "helpdesk.log")],
        )
    )
    stream = client.agents.execute("support", "Where is A-1?", stream=True)
    assert stream.execution.status.phase == ExecutionPhase.PENDING
    events = joined(list(stream))

    assert [type(e) for e in events] == [ToolStarted, ToolFinished, TextDelta]
    started, finished, text = events
    assert isinstance(started, ToolStarted) and isinstance(finished, ToolFinished)
    assert (started.name, started.arguments) == ("find_order", {"id": "A-1"})
    assert finished.text.startswith("Order A-1: ") and not finished.is_error
    assert isinstance(text, TextDelta) and text.text == finished.text
    assert stream.execution.status.phase == ExecutionPhase.COMPLETED
    assert stream.execution.status.output == finished.text
    assert [json.loads(line)["tool"] for line in (tmp_path / "helpdesk.log").read_text().splitlines()] == [
        "find_order"
    ]


def test_a_failed_run_raises_execution_failed_with_its_record(client: Client) -> None:
    broken = {
        "name": "broken",
        "stdio": {"command": sys.executable, "args": ["-c", "raise SystemExit('no config')"]},
    }
    client.agents.apply(agent("stuck", model="scripted", mcpServers=[broken]))
    with pytest.raises(ExecutionFailed, match="no config") as failed:
        client.agents.execute("stuck", "hi")
    record = failed.value.execution
    assert isinstance(record, AgentExecution)
    assert record.status.phase == ExecutionPhase.FAILED
    assert record.spec.agent == "stuck"

    unchecked = client.agents.execute("stuck", "hi", check=False)
    assert unchecked.status.phase == ExecutionPhase.FAILED

    stream = client.agents.execute("stuck", "hi", stream=True)
    with pytest.raises(ExecutionFailed):
        list(stream)
    assert stream.execution.status.phase == ExecutionPhase.FAILED


def _refunder(client: Client, log: Path) -> None:
    client.agents.apply(
        agent(
            "refunder",
            model=scripted(
                tool_call("find_order", id="A-1"), tool_call("refund_order", id="A-1"), "Refunded."
            ),
            mcpServers=[helpdesk(log, approvalRequired=["refund_order"])],
        )
    )


def test_a_run_waits_for_approval_and_approve_continues_it(client: Client, tmp_path: Path) -> None:
    log = tmp_path / "helpdesk.log"
    _refunder(client, log)
    paused = client.agents.execute("refunder", "refund A-1")
    assert paused.status.phase == ExecutionPhase.WAITING_APPROVAL
    assert paused.status.pending_approval.name == "refund_order"
    waiting = client.executions.list(phase="waiting_approval")
    assert [e.metadata.id for e in waiting] == [paused.metadata.id]

    done = client.executions.approve(paused.metadata.id)
    assert done.status.phase == ExecutionPhase.COMPLETED
    assert isinstance(done, AgentExecution) and done.status.output == "Refunded."
    assert [(c.name, c.approval) for c in done.status.tool_calls] == [
        ("find_order", ""),
        ("refund_order", "approved"),
    ]
    assert [json.loads(line)["tool"] for line in log.read_text().splitlines()] == [
        "find_order",
        "refund_order",
    ]


def test_respond_answers_what_an_mcp_server_asked_and_continues_the_run(
    client: Client, tmp_path: Path
) -> None:
    asker = Path(__file__).resolve().parents[1] / "fixtures" / "mcp_servers" / "asker.py"
    server = {"name": "asker", "stdio": {"command": sys.executable, "args": [str(asker)]}, "timeout": "1s"}
    client.agents.apply(
        agent(
            "booker",
            model=scripted(tool_call("book_table", restaurant="Ada's"), {"echoToolResult": True}),
            mcpServers=[server],
        )
    )
    parked = client.agents.execute("booker", "book")
    assert parked.status.phase == ExecutionPhase.WAITING_APPROVAL
    assert isinstance(parked, AgentExecution)
    assert parked.status.pending_input.kind == "elicitation"
    assert list(parked.status.pending_input.fields) == ["name", "guests", "time", "terrace", "budget"]
    with pytest.raises(InvalidArgument, match="guests: expected a whole number"):
        client.executions.respond(parked.metadata.id, {"name": "Ada", "guests": 2.5})
    done = client.executions.respond(parked.metadata.id, {"name": "Ada", "guests": 3})
    assert isinstance(done, AgentExecution)
    assert done.status.output == "booked Ada's for Ada: 3 guests at 19:00, terrace False, budget 0.0"
    with pytest.raises(Conflict, match="not waiting for an answer"):
        client.executions.respond(parked.metadata.id, action="decline")


def test_a_rejection_is_told_to_the_agent_and_streams_the_rest(client: Client, tmp_path: Path) -> None:
    _refunder(client, tmp_path / "helpdesk.log")
    stream = client.agents.execute("refunder", "refund A-1", stream=True)
    events = joined(list(stream))
    assert [type(e).__name__ for e in events] == ["ToolStarted", "ToolFinished", "ApprovalNeeded"]
    assert stream.execution.status.phase == ExecutionPhase.WAITING_APPROVAL

    rest = client.executions.reject(stream.execution_id, "not eligible", stream=True)
    events = joined(list(rest))
    # A server also reports the refused call as a tool that returned an error.
    assert [type(e).__name__ for e in events if not isinstance(e, ToolStarted | ToolFinished)] == [
        "TextDelta"
    ]
    assert all(e.is_error and "not eligible" in e.text for e in events if isinstance(e, ToolFinished))
    done = rest.execution
    assert isinstance(done, AgentExecution) and done.status.phase == ExecutionPhase.COMPLETED
    refund = done.status.tool_calls[-1]
    assert (refund.name, refund.approval, refund.is_error) == ("refund_order", "rejected", True)


def test_cancel_ends_a_waiting_run(client: Client, tmp_path: Path) -> None:
    _refunder(client, tmp_path / "helpdesk.log")
    paused = client.agents.execute("refunder", "refund A-1")
    cancelled = client.executions.cancel(paused.metadata.id)
    assert cancelled.status.phase == ExecutionPhase.CANCELLED
    with pytest.raises(Conflict):
        client.executions.approve(paused.metadata.id)


# -- workflow runs ------------------------------------------------------------------------


def test_a_workflow_run_returns_its_outputs(client: Client) -> None:
    client.workflows.apply(
        workflow(
            "greeting",
            [
                {"name": "greet", "set": {"text": "Hello ${workflow.inputs.who}"}},
                {"name": "shout", "set": {"text": "${upper(tasks.greet.outputs.text)}"}},
            ],
            inputs={"who": "string", "times": {"type": "integer", "required": False, "default": 1}},
            outputs={"greeting": "${tasks.shout.outputs.text}", "times": "${workflow.inputs.times}"},
        )
    )
    done = client.workflows.execute("greeting", {"who": "Ada", "times": 2})
    assert isinstance(done, WorkflowExecution)
    assert done.status.phase == ExecutionPhase.COMPLETED
    assert dict(done.status.outputs) == {"greeting": "HELLO ADA", "times": 2}
    assert [(t.name, t.phase) for t in done.status.tasks] == [
        ("greet", ExecutionPhase.COMPLETED),
        ("shout", ExecutionPhase.COMPLETED),
    ]

    stream = client.workflows.execute("greeting", {"who": "Bo"}, stream=True)
    changes = [e for e in stream if isinstance(e, TaskChanged)]
    assert [(c.name, c.phase) for c in changes if c.phase == "COMPLETED"] == [
        ("greet", "COMPLETED"),
        ("shout", "COMPLETED"),
    ]
    assert changes[-1].outputs == {"text": "HELLO BO"}
    assert stream.execution.status.outputs["greeting"] == "HELLO BO"

    retried = client.executions.retry(done.metadata.id, from_task="shout")
    assert retried.spec.retry_of == done.metadata.id
    assert dict(retried.status.outputs) == dict(done.status.outputs)


def test_a_workflow_waits_at_an_approval_until_approved(client: Client) -> None:
    client.workflows.apply(
        workflow(
            "gated",
            [
                {"name": "ok", "approval": {"message": "go?"}},
                {"name": "after", "dependsOn": ["ok"], "set": {"done": True}},
            ],
            outputs={"done": "${tasks.after.outputs.done}"},
        )
    )
    paused = client.workflows.execute("gated")
    assert paused.status.phase == ExecutionPhase.WAITING_APPROVAL
    done = client.executions.approve(paused.metadata.id)
    assert isinstance(done, WorkflowExecution)
    assert done.status.phase == ExecutionPhase.COMPLETED
    assert done.status.outputs["done"] is True

    rejected = client.workflows.execute("gated")
    with pytest.raises(ExecutionFailed, match="REJECTED") as failed:
        client.executions.reject(rejected.metadata.id, "no")
    assert failed.value.execution is not None
    assert failed.value.execution.status.phase == ExecutionPhase.FAILED


def test_a_failed_workflow_raises_execution_failed(client: Client) -> None:
    client.workflows.apply(workflow("boom", [{"name": "fail", "set": {"x": "${1 / 0}"}}]))
    with pytest.raises(ExecutionFailed, match="fail") as failed:
        client.workflows.execute("boom")
    assert isinstance(failed.value.execution, WorkflowExecution)
    assert failed.value.execution.status.tasks[0].phase == ExecutionPhase.FAILED


# -- a server by URL ----------------------------------------------------------------------


def test_a_client_reaches_a_server_by_url_and_token(tmp_path: Path) -> None:
    from tests.server.conftest import create_key, server_home
    from tests.server.harness import ServerProcess

    home = server_home(tmp_path)
    key = create_key(home, "sdk")
    server = ServerProcess(home).start()
    try:
        with Client(url=server.url, token=key) as client:
            assert not client.runs_here
            assert client.info().type == "remote"
            client.agents.apply(agent("bot", model=scripted("Hi from the server.")))
            done = client.agents.execute("bot", "hello")
            assert done.status.output == "Hi from the server."
            assert isinstance(client.agents.get("bot"), Agent)
        with Client(url=server.url, token="sk_wrong") as refused, pytest.raises(Unauthenticated):
            refused.agents.list()
    finally:
        server.stop()


def test_follow_shows_a_run_that_something_else_runs(client: Client) -> None:
    client.agents.apply(agent("bot", model=scripted("Done.")))
    done = client.agents.execute("bot", "go")
    replay = client.executions.follow(done.metadata.id)
    assert "".join(e.text for e in replay if isinstance(e, TextDelta)) == "Done."
    assert replay.execution.status.phase == ExecutionPhase.COMPLETED


def test_a_run_stopped_by_its_limit_goes_on_with_retry_and_a_higher_one(
    client: Client, tmp_path: Path
) -> None:
    log = tmp_path / "helpdesk.log"
    client.agents.apply(
        agent(
            "support",
            model=scripted(
                tool_call("find_order", id="A-1"), tool_call("refund_order", id="A-1"), "Refunded."
            ),
            mcpServers=[helpdesk(log)],
            limits={"maxTurns": 2},
        )
    )
    stopped = client.agents.execute("support", "Refund A-1", check=False)
    assert stopped.status.phase == ExecutionPhase.FAILED
    assert stopped.status.error.code == "LIMIT_TURNS"

    done = client.executions.retry(stopped.metadata.id, max_turns=3)
    assert isinstance(done, AgentExecution)
    assert done.status.phase == ExecutionPhase.COMPLETED and done.status.output == "Refunded."
    assert done.spec.retry_of == stopped.metadata.id and done.spec.limits.max_turns == 3
    # The tools that ran before the limit ran once; the retry replayed them from the journal.
    assert [json.loads(line)["tool"] for line in log.read_text().splitlines()] == [
        "find_order",
        "refund_order",
    ]


def test_retry_refuses_options_of_the_other_kind_of_run(client: Client) -> None:
    client.agents.apply(agent("bot", model="scripted"))
    client.workflows.apply(workflow("hello"))
    ran = client.agents.execute("bot", "hi")
    flowed = client.workflows.execute("hello")
    with pytest.raises(InvalidArgument, match="agent execution") as refused:
        client.executions.retry(ran.metadata.id, from_task="greet")
    assert "without them" in (refused.value.hint or "")
    with pytest.raises(InvalidArgument, match="workflow execution"):
        client.executions.retry(flowed.metadata.id, max_turns=5)
    with pytest.raises(InvalidArgument) as bad:
        client.executions.retry(ran.metadata.id, timeout="soon")
    assert bad.value.field == "timeout"
    # Nothing was recorded by the refused retries.
    assert len(client.executions.list()) == 2


# -- local only ---------------------------------------------------------------------------


def test_closing_a_stream_early_stops_the_run_here_and_resume_continues_it(tmp_path: Path) -> None:
    log = tmp_path / "helpdesk.log"
    support = agent(
        "support",
        model=scripted(tool_call("find_order", id="A-1"), "It ships today."),
        mcpServers=[helpdesk(log)],
    )
    with sandbox(support) as client:
        with client.agents.execute("support", "Where is A-1?", stream=True) as stream:
            for event in stream:
                if isinstance(event, ToolFinished):
                    break
        stopped = client.executions.get(stream.execution_id)
        assert stopped.status.phase == ExecutionPhase.RUNNING

        done = client.executions.resume(stream.execution_id)
        assert isinstance(done, AgentExecution) and done.status.output == "It ships today."
    # The tool call on record was replayed, not made again.
    assert [json.loads(line)["tool"] for line in log.read_text().splitlines()] == ["find_order"]


def test_client_uses_the_home_of_stigmer_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STIGMER_HOME", str(tmp_path / "home"))
    with Client() as client:
        assert client.home == tmp_path / "home" and client.runs_here
        assert client.info().type == "local"
        client.agents.apply(agent("bot", model="scripted"))
    assert (tmp_path / "home" / "local.db").exists()
    with Client(home=tmp_path / "home") as again:
        assert again.agents.execute("bot", "hi").status.output == "echo: hi"
