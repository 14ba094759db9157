"""Agents calling real MCP tools over stdio: results, errors, approvals, exactly-once."""

from __future__ import annotations

import json

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.runners.agent.events import ApprovalNeeded, RunEvent, ToolFinished, ToolStarted
from tests.runners.conftest import Runs, calls, helpdesk, scripted


def test_a_tool_call_is_made_once_and_recorded(runs: Runs) -> None:
    runs.agent(
        "orders",
        model=scripted(calls("find_order", id="A-1"), {"text": "It shipped."}),
        mcpServers=[helpdesk(runs.log)],
    )
    events: list[RunEvent] = []
    done = runs.run("orders", "where is A-1?", events)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status.error.message
    (call,) = done.status.tool_calls
    assert (call.name, call.server, dict(call.arguments)) == ("find_order", "helpdesk", {"id": "A-1"})
    assert "Order A-1" in call.result and not call.is_error
    assert [json.loads(line)["tool"] for line in runs.tool_log()] == ["find_order"]
    assert [type(e) for e in events if isinstance(e, ToolStarted | ToolFinished)] == [
        ToolStarted,
        ToolFinished,
    ]
    assert [m.role for m in done.status.messages] == ["user", "assistant", "tool", "assistant"]


def test_a_failing_tool_goes_back_to_the_model(runs: Runs) -> None:
    runs.agent(
        "clumsy",
        model=scripted(calls("fail"), {"text": "That did not work."}),
        mcpServers=[helpdesk(runs.log)],
    )
    done = runs.run("clumsy", "try")
    assert done.status.phase == ExecutionPhase.COMPLETED
    (call,) = done.status.tool_calls
    assert call.is_error


def test_enabled_tools_limit_what_the_model_may_call(runs: Runs) -> None:
    runs.agent(
        "narrow",
        model=scripted(calls("create_ticket", subject="x"), {"text": "ok"}),
        mcpServers=[helpdesk(runs.log, enabledTools=["find_order"])],
    )
    done = runs.run("narrow", "open a ticket")
    (call,) = done.status.tool_calls
    assert call.is_error and "create_ticket" in call.result
    assert runs.tool_log() == []


def test_a_server_that_cannot_start_fails_the_run_with_its_stderr(runs: Runs) -> None:
    broken = {
        "name": "broken",
        "stdio": {"command": "python3", "args": ["-c", "import sys; sys.exit('no config')"]},
    }
    runs.agent("stuck", model="scripted", mcpServers=[broken])
    done = runs.run("stuck", "hi")
    assert done.status.phase == ExecutionPhase.FAILED
    assert "'broken'" in done.status.error.message and "no config" in done.status.error.message


def _refunder(runs: Runs) -> None:
    runs.agent(
        "refunder",
        model=scripted(calls("find_order", id="A-1"), calls("refund_order", id="A-1"), {"text": "Refunded."}),
        mcpServers=[helpdesk(runs.log, approvalRequired=["refund_order"])],
    )


def test_an_approval_required_tool_pauses_until_approved(runs: Runs) -> None:
    _refunder(runs)
    events: list[RunEvent] = []
    paused = runs.run("refunder", "refund A-1", events)
    assert paused.status.phase == ExecutionPhase.WAITING_APPROVAL
    assert paused.status.pending_approval.name == "refund_order"
    assert any(isinstance(e, ApprovalNeeded) for e in events)
    assert [json.loads(line)["tool"] for line in runs.tool_log()] == ["find_order"]
    # Nothing runs it while it waits: it is not claimable.
    assert runs.backend.claim_execution("other:2:w") is None

    runs.backend.resolve_approval(paused.metadata.id, approved=True)
    done = runs.resume(paused.metadata.id)
    assert done.status.phase == ExecutionPhase.COMPLETED
    assert done.status.output == "Refunded."
    # find_order was replayed from the record, not called again; refund_order ran once.
    assert [json.loads(line)["tool"] for line in runs.tool_log()] == ["find_order", "refund_order"]
    assert [(c.name, c.approval) for c in done.status.tool_calls] == [
        ("find_order", ""),
        ("refund_order", "approved"),
    ]


def test_a_rejected_tool_call_is_not_made_and_the_model_is_told(runs: Runs) -> None:
    _refunder(runs)
    paused = runs.run("refunder", "refund A-1")
    runs.backend.resolve_approval(paused.metadata.id, approved=False, reason="not eligible")
    done = runs.resume(paused.metadata.id)
    assert done.status.phase == ExecutionPhase.COMPLETED
    refund = done.status.tool_calls[-1]
    assert refund.is_error and "rejected" in refund.result and "not eligible" in refund.result
    assert refund.approval == "rejected"
    assert [json.loads(line)["tool"] for line in runs.tool_log()] == ["find_order"]


def test_a_resumed_run_never_repeats_a_recorded_tool_call(runs: Runs) -> None:
    runs.agent(
        "orders",
        model=scripted(
            calls("find_order", id="A-1"), calls("create_ticket", subject="late"), {"text": "Done."}
        ),
        mcpServers=[helpdesk(runs.log)],
    )
    execution_id = runs.create("orders", "check A-1")
    first = runs.resume(execution_id)
    assert first.status.phase == ExecutionPhase.COMPLETED
    # Replaying the whole record (as a resume after a crash does) calls no tool again.
    steps = runs.backend.list_steps(execution_id)
    assert [s.name for s in steps] == ["model", "tool:find_order", "model", "tool:create_ticket", "model"]
    assert len(runs.tool_log()) == 2
