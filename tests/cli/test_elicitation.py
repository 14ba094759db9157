"""An MCP server asks a person for input in the middle of a tool call (MCP elicitation).

The run waits for the answer: `stigmer execution respond ID --set FIELD=VALUE` gives it,
typed by the schema the server sent (defaults fill what is left out). While the tool call
is held open the answer goes straight to the server; once the run has parked (nobody
answered within the server's timeout), the call is made again when the answer comes, and
the server's request is answered from the record.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.mcp_servers.helpdesk import python_http_server

from .helpers import Stigmer, pending_input, write

ASKER = Path(__file__).resolve().parents[1] / "fixtures" / "mcp_servers" / "asker.py"


def _apply(stigmer: Stigmer, log: Path, calls: list[dict[str, Any]], **server: Any) -> None:
    transport = server.pop("transport", None) or {
        "stdio": {"command": sys.executable, "args": [str(ASKER)], "env": {"ASKER_LOG": str(log)}}
    }
    docs = [
        {
            "apiVersion": "agentic.stigmer.ai/v1",
            "kind": "McpServer",
            "metadata": {"name": "asker"},
            "spec": {**transport, **server},
        },
        {
            "apiVersion": "agentic.stigmer.ai/v1",
            "kind": "Agent",
            "metadata": {"name": "host"},
            "spec": {
                "instructions": "Book what you are asked to.",
                "model": {
                    "provider": "scripted",
                    "options": {"script": [{"toolCalls": calls}, {"echoToolResult": True}]},
                },
                "mcpServers": ["asker"],
            },
        },
    ]
    stigmer("apply", "-f", write(stigmer.cwd / "asker.yaml", yaml.safe_dump_all(docs)))


def _events(log: Path, event: str | None = None) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]
    return [line for line in lines if event is None or line["event"] == event]


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, out, err


def test_a_person_answers_while_the_tool_call_waits(stigmer: Stigmer) -> None:
    log = stigmer.cwd / "asker.log"
    _apply(stigmer, log, [{"name": "book_table", "arguments": {"restaurant": "Chez Ada"}}])
    running = stigmer.start("agent", "execute", "host", "Book Chez Ada")
    try:
        run = pending_input(stigmer)
        execution_id = run["metadata"]["id"]
        pending = run["status"]["pendingInput"]
        assert run["status"]["phase"] == "RUNNING"  # the tool call is held open
        assert pending["kind"] == "elicitation" and pending["tool"] == "book_table"
        assert pending["server"] == "asker" and pending["message"] == "Booking at Chez Ada: who is it for?"
        assert pending["requestedSchema"]["required"] == ["name"]
        answered = stigmer(
            "execution", "respond", execution_id, "--set", "name=Ada", "--set", "guests=4",
            "--set", "terrace=yes", "--set", "budget=42.5",
        )  # fmt: skip
        assert "answered what its MCP server asked" in answered.err
    finally:
        code, out, err = _finish(running)
    assert code == 0, err
    assert out == "booked Chez Ada for Ada: 4 guests at 19:00, terrace True, budget 42.5\n"
    assert "asker asks (during book_table): Booking at Chez Ada: who is it for?" in err
    assert f"stigmer execution respond {execution_id} --set FIELD=VALUE" in err
    # Typed by the schema (integer, boolean, number), defaults applied; one call, never replayed.
    assert [e["content"] for e in _events(log, "answer")] == [
        {"name": "Ada", "guests": 4, "time": "19:00", "terrace": True, "budget": 42.5}
    ]
    assert len(_events(log, "start")) == 1
    record = stigmer("execution", "get", execution_id, "-o", "json").json()
    assert record["status"]["phase"] == "COMPLETED" and "pendingInput" not in record["status"]
    logs = stigmer("execution", "logs", execution_id)
    assert "✓ asker's request during book_table: accept by" in logs.err


def test_an_answer_that_does_not_fit_is_refused_and_the_run_still_waits(stigmer: Stigmer) -> None:
    log = stigmer.cwd / "asker.log"
    _apply(stigmer, log, [{"name": "book_table", "arguments": {"restaurant": "Bistro"}}], timeout="1s")
    parked = stigmer("agent", "execute", "host", "Book", "--no-wait")
    assert "The run parked, waiting for an answer to what asker asked during book_table" in parked.err
    execution_id = stigmer("execution", "list", "-o", "json").json()[0]["metadata"]["id"]
    shown = stigmer("execution", "get", execution_id).out
    assert "Waiting for a person: asker asks (during book_table): Booking at Bistro: who is it for?" in shown
    assert "name (string, required), guests (integer) = 2" in shown
    wrong = stigmer("execution", "respond", execution_id, "--set", "guests=many", check=False)
    assert wrong.code == 2
    assert 'guests: expected a whole number, got "many"' in wrong.err
    assert "name: required" in wrong.err
    assert "name (string, required)" in wrong.err  # the hint lists the fields
    for bad, said in [
        (["--set", "name=Ada", "--set", "time=21:00"], "'21:00' is not one of 18:00, 19:00, 20:00"),
        (["--set", "name=Ada", "--set", "guests=40"], "40 is outside 1 to 12"),
        (["--set", "name=Ada", "--set", "colour=red"], "colour: not a field of this request"),
        (["--set", "name=Ada", "--set", "terrace=perhaps"], 'expected true or false, got "perhaps"'),
    ]:
        refused = stigmer("execution", "respond", execution_id, *bad, check=False)
        assert refused.code == 2 and said in refused.err, refused
    approve = stigmer("execution", "approve", execution_id, check=False)
    assert approve.code == 1 and f"stigmer execution respond {execution_id}" in approve.err
    record = stigmer("execution", "get", execution_id, "-o", "json").json()
    assert record["status"]["phase"] == "WAITING_APPROVAL"
    assert record["status"]["pendingInput"]["tool"] == "book_table"
    # The parked call was abandoned: the server never got an answer.
    assert _events(log, "answer") == []
    declined = stigmer("execution", "respond", execution_id, "--decline")
    assert declined.out == "no booking: the person chose decline\n"
    # The call was made again, and the server's request answered from the record.
    assert len(_events(log, "start")) == 2
    assert [e["action"] for e in _events(log, "answer")] == ["decline"]


def test_a_parked_run_continues_with_the_recorded_answers_in_order(stigmer: Stigmer) -> None:
    log = stigmer.cwd / "asker.log"
    _apply(stigmer, log, [{"name": "survey", "arguments": {}}], timeout="1s")
    stigmer("agent", "execute", "host", "Survey me", "--no-wait")
    execution_id = stigmer("execution", "list", "-o", "json").json()[0]["metadata"]["id"]
    first = stigmer("execution", "respond", execution_id, "--set", "colour=teal", "--no-wait")
    assert "asker asks (during survey): Favourite number?" in first.err
    done = stigmer("execution", "respond", execution_id, "--set", "n=7")
    assert done.out == "colour teal, number 7\n"
    # Three passes of the call: a person was asked the colour once, and it was answered
    # from the record on the next two; the last pass got both answers, in order.
    assert len(_events(log, "start")) == 3
    answers = [(e["message"], e["content"]) for e in _events(log, "answer")]
    assert answers == [("Favourite colour?", {"colour": "teal"}), ("Favourite number?", {"n": 7})]
    steps = stigmer("execution", "logs", execution_id).err
    assert steps.count("✓ asker's request during survey: accept by") == 2


def test_a_run_whose_process_died_while_waiting_continues_after_the_answer(stigmer: Stigmer) -> None:
    log = stigmer.cwd / "asker.log"
    with python_http_server(ASKER, {**_env(), "ASKER_LOG": str(log)}) as server:
        _apply(
            stigmer, log, [{"name": "book_table", "arguments": {"restaurant": "Noma"}}],
            transport={"http": {"url": server.url}},
        )  # fmt: skip
        running = stigmer.start("agent", "execute", "host", "Book Noma")
        run = pending_input(stigmer)
        running.send_signal(signal.SIGKILL)
        _finish(running)
        execution_id = run["metadata"]["id"]
        assert stigmer("execution", "get", execution_id, "-o", "json").json()["status"]["phase"] == "RUNNING"
        # Another process takes the run over (the dead one's lease is recognised as gone).
        done = stigmer("execution", "respond", execution_id, "--set", "name=René")
    assert done.out == "booked Noma for René: 2 guests at 19:00, terrace False, budget 0.0\n"
    assert len(_events(log, "start")) == 2
    assert [e["content"]["name"] for e in _events(log, "answer")] == ["René"]


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_a_workflow_whose_agent_task_is_asked_continues_once_answered(stigmer: Stigmer) -> None:
    log = stigmer.cwd / "asker.log"
    _apply(stigmer, log, [{"name": "book_table", "arguments": {"restaurant": "Fika"}}], timeout="1s")
    workflow = {
        "apiVersion": "agentic.stigmer.ai/v1",
        "kind": "Workflow",
        "metadata": {"name": "dinner"},
        "spec": {
            "tasks": [{"name": "book", "agent": "host", "message": "Book Fika"}],
            "outputs": {"booking": "${tasks.book.output}"},
        },
    }
    stigmer("apply", "-f", write(stigmer.cwd / "dinner.yaml", yaml.safe_dump(workflow)))
    parked = stigmer("workflow", "execute", "dinner", "--no-wait")
    assert "Task book waits for a person: asker asks (during book_table): Booking at Fika" in parked.err
    assert "Answer with `stigmer execution respond wex_" in parked.err
    runs = stigmer("execution", "list", "--kind", "workflow", "-o", "json").json()
    workflow_id = runs[0]["metadata"]["id"]
    # Answered through the workflow: its agent task's run is the one that waits.
    stigmer("execution", "respond", workflow_id, "--set", "name=Ada")
    record = stigmer("execution", "get", workflow_id, "-o", "json").json()
    assert record["status"]["phase"] == "COMPLETED"
    assert record["status"]["outputs"]["booking"].startswith("booked Fika for Ada")
