"""`stigmer agent execute` and the execution commands, through the real CLI."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from .helpers import Stigmer, write

HELPDESK = Path(__file__).resolve().parents[2] / "examples" / "mcpservers" / "helpdesk_server.py"


def _agent_yaml(name: str, script: list[Any], log: Path, *, approval: bool = False) -> str:
    server = {
        "name": "helpdesk",
        "stdio": {"command": sys.executable, "args": [str(HELPDESK)], "env": {"HELPDESK_LOG": str(log)}},
        "approvalRequired": ["refund_order"] if approval else [],
    }
    spec = {
        "instructions": "Help with orders.",
        "model": {"provider": "scripted", "options": {"script": script}},
        "mcpServers": [server],
    }
    doc = {"apiVersion": "agentic.stigmer.ai/v1", "kind": "Agent", "metadata": {"name": name}, "spec": spec}
    return json.dumps(doc)


def _tools(log: Path) -> list[str]:
    return [json.loads(line)["tool"] for line in log.read_text().splitlines()] if log.exists() else []


def _latest(stigmer: Stigmer) -> dict[str, object]:
    runs = stigmer("execution", "list", "-o", "json").json()
    assert runs, "no execution was recorded"
    latest: dict[str, object] = runs[0]
    return latest


def _wait_for_phase(stigmer: Stigmer, phase: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = stigmer("execution", "list", "-o", "json").json()
        if runs and runs[0]["status"]["phase"] == phase:
            return str(runs[0]["metadata"]["id"])
        time.sleep(0.2)
    raise AssertionError(f"no execution reached {phase}: {runs}")


FIND_THEN_ANSWER: list[Any] = [
    {"toolCalls": [{"name": "find_order", "arguments": {"id": "A-1"}}]},
    {"toolCalls": [{"name": "create_ticket", "arguments": {"subject": "late"}}]},
    {"text": "Order A-1 shipped; I opened a ticket."},
]


def test_execute_streams_the_answer_and_ends_with_a_summary(stigmer: Stigmer) -> None:
    log = stigmer.cwd / "tools.log"
    stigmer("apply", "-f", write(stigmer.cwd / "a.json", _agent_yaml("orders", FIND_THEN_ANSWER, log)))
    result = stigmer("agent", "execute", "orders", "Where is A-1?")
    assert result.out == "Order A-1 shipped; I opened a ticket.\n"
    assert '→ find_order {"id": "A-1"}' in result.err
    assert "← find_order" in result.err and "Order A-1" in result.err
    summary = result.err.strip().splitlines()[-1]
    assert summary.startswith("— COMPLETED · 3 model calls · ") and " · aex_" in summary
    assert _tools(log) == ["find_order", "create_ticket"]


def test_execute_json_prints_the_final_record(stigmer: Stigmer) -> None:
    stigmer("agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted")
    record = stigmer("agent", "execute", "echo", "hi", "-o", "json").json()
    assert record["status"]["phase"] == "COMPLETED"
    assert record["status"]["output"] == "echo: hi"
    assert [m["role"] for m in record["status"]["messages"]] == ["user", "assistant"]
    shown = stigmer("execution", "get", record["metadata"]["id"], "-o", "json").json()
    assert shown["status"]["output"] == "echo: hi"


def test_a_failed_run_exits_1_and_says_why(stigmer: Stigmer) -> None:
    stigmer("agent", "create", "forgetful", "--instructions", "x", "--model", "scripted", "--skill", "ghost")
    result = stigmer("agent", "execute", "forgetful", "hi", check=False)
    assert result.code == 1
    assert "ghost" in result.err and "FAILED" in result.err


def test_sessions_show_their_conversation(stigmer: Stigmer) -> None:
    stigmer("agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted")
    stigmer("agent", "execute", "echo", "one", "--session", "chat")
    stigmer("agent", "execute", "echo", "two", "--session", "chat")
    session = stigmer("get", "session", "chat", "-o", "json").json()
    assert [(m["role"], m["content"]) for m in session["status"]["messages"]] == [
        ("user", "one"),
        ("assistant", "echo: one"),
        ("user", "two"),
        ("assistant", "echo: two"),
    ]


def test_detached_runs_are_done_by_a_worker(stigmer: Stigmer) -> None:
    stigmer("agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted")
    ids = [stigmer("agent", "execute", "echo", f"job {n}", "--detach").out.strip() for n in range(3)]
    assert all(i.startswith("aex_") for i in ids)
    assert {r["status"]["phase"] for r in stigmer("execution", "list", "-o", "json").json()} == {"PENDING"}
    worker = stigmer.start("worker", "--concurrency", "2")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            phases = {r["status"]["phase"] for r in stigmer("execution", "list", "-o", "json").json()}
            if phases == {"COMPLETED"}:
                break
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=30)
    assert worker.returncode == 0
    for n, execution_id in enumerate(ids):
        assert (
            stigmer("execution", "get", execution_id, "-o", "json").json()["status"]["output"]
            == f"echo: job {n}"
        )
    logs = stigmer("execution", "logs", ids[0])
    assert "echo: job 0" in logs.out and "COMPLETED" in logs.err


def test_an_approval_from_another_process_continues_the_waiting_run(stigmer: Stigmer) -> None:
    log = stigmer.cwd / "tools.log"
    script = [
        {"toolCalls": [{"name": "refund_order", "arguments": {"id": "A-1"}}]},
        {"text": "Refunded A-1."},
    ]
    stigmer("apply", "-f", write(stigmer.cwd / "a.json", _agent_yaml("refunder", script, log, approval=True)))
    waiting = stigmer.start("agent", "execute", "refunder", "Refund A-1")
    try:
        execution_id = _wait_for_phase(stigmer, "WAITING_APPROVAL")
        assert _tools(log) == []
        shown = stigmer("execution", "get", execution_id, "-o", "json").json()
        assert shown["status"]["pendingApproval"]["name"] == "refund_order"
        stigmer("execution", "approve", execution_id, "--detach")
        out, err = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 0, err
    assert out == "Refunded A-1.\n"
    assert "needs approval" in err and "COMPLETED" in err
    assert _tools(log) == ["refund_order"]


def test_a_run_killed_mid_loop_resumes_without_repeating_a_tool_call(stigmer: Stigmer) -> None:
    log = stigmer.cwd / "tools.log"
    stigmer("apply", "-f", write(stigmer.cwd / "a.json", _agent_yaml("orders", FIND_THEN_ANSWER, log)))
    killed = stigmer(
        "agent",
        "execute",
        "orders",
        "Where is A-1?",
        env={"STIGMER_FAULTS": "agent.tool_recorded=1"},
        check=False,
    )
    assert killed.code == -signal.SIGKILL
    run = _latest(stigmer)
    execution_id = str(run["metadata"]["id"])  # type: ignore[index]
    assert run["status"]["phase"] == "RUNNING"  # type: ignore[index]
    assert _tools(log) == ["find_order"]
    # The dead process's lease is recognised as gone: resume takes over at once.
    resumed = stigmer("execution", "resume", execution_id)
    assert resumed.out == "Order A-1 shipped; I opened a ticket.\n"
    assert _tools(log) == ["find_order", "create_ticket"]
    record = stigmer("execution", "get", execution_id, "-o", "json").json()
    assert [c["name"] for c in record["status"]["toolCalls"]] == ["find_order", "create_ticket"]


def test_cancel_a_queued_run(stigmer: Stigmer) -> None:
    stigmer("agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted")
    execution_id = stigmer("agent", "execute", "echo", "later", "--detach").out.strip()
    assert "cancelled" in stigmer("execution", "cancel", execution_id).out
    assert stigmer("execution", "get", execution_id, "-o", "json").json()["status"]["phase"] == "CANCELLED"
    again = stigmer("execution", "resume", execution_id, check=False)
    assert again.code == 1 and "nothing left to run" in again.err


def test_no_wait_leaves_the_run_waiting_and_reject_continues_it(stigmer: Stigmer) -> None:
    log = stigmer.cwd / "tools.log"
    script = [
        {"toolCalls": [{"name": "refund_order", "arguments": {"id": "A-1"}}]},
        {"text": "I could not refund A-1."},
    ]
    stigmer("apply", "-f", write(stigmer.cwd / "a.json", _agent_yaml("refunder", script, log, approval=True)))
    paused = stigmer("agent", "execute", "refunder", "Refund A-1", "--no-wait")
    assert "Waiting for approval of refund_order" in paused.err
    execution_id = _wait_for_phase(stigmer, "WAITING_APPROVAL", timeout=1)
    rejected = stigmer("execution", "reject", execution_id, "--reason", "not eligible")
    assert "rejected refund_order" in rejected.err
    assert rejected.out == "I could not refund A-1.\n"
    assert _tools(log) == []
    record = stigmer("execution", "get", execution_id, "-o", "json").json()
    assert record["status"]["toolCalls"][0]["approval"] == "rejected"
