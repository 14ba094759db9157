"""A server that dies or stops mid-run: clients say so and resume; runs keep their leases."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.helpers import EXECUTABLE, Stigmer, write
from tests.server.conftest import create_key, logged_in
from tests.server.harness import ServerProcess

HELPDESK = Path(__file__).resolve().parents[2] / "examples" / "mcpservers" / "helpdesk_server.py"


def _agent(name: str, script: list[Any], log: Path, *, approval: bool = False) -> str:
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
    return json.dumps(
        {"apiVersion": "agentic.stigmer.ai/v1", "kind": "Agent", "metadata": {"name": name}, "spec": spec}
    )


def _tools(log: Path) -> list[str]:
    return [json.loads(line)["tool"] for line in log.read_text().splitlines()] if log.exists() else []


def _wait_for(what: str, check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _latest_id(client: Stigmer) -> str:
    return str(client("execution", "list", "-o", "json").json()[0]["metadata"]["id"])


REFUND = [
    {"toolCalls": [{"name": "find_order", "arguments": {"id": "A-1"}}]},
    {"toolCalls": [{"name": "refund_order", "arguments": {"id": "A-1"}}]},
    {"text": "Refunded A-1."},
]


def test_a_killed_server_is_reported_and_logs_f_resumes_without_gap_or_duplicate(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    key = create_key(own_server.home, "admin")
    own_server.start()
    client = logged_in(tmp_path, own_server, key)
    log = tmp_path / "tools.log"
    client("apply", "-f", write(client.cwd / "refunder.json", _agent("refunder", REFUND, log, approval=True)))
    paused = client("agent", "execute", "refunder", "Refund A-1", "--no-wait")
    assert "Waiting for approval of refund_order" in paused.err
    execution_id = _latest_id(client)

    out, err = tmp_path / "logs.out", tmp_path / "logs.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        follower = subprocess.Popen(
            [str(EXECUTABLE), "execution", "logs", execution_id, "-f"],
            stdout=stdout,
            stderr=stderr,
            env=client.env({"STIGMER_RECONNECT_SECONDS": "30"}),
            cwd=client.cwd,
        )
    try:
        _wait_for("the waiting step", lambda: "waits for approval" in err.read_text())
        own_server.kill()
        _wait_for("the CLI to notice", lambda: "Lost the connection" in err.read_text())
        own_server.start()
        approved = client("execution", "approve", execution_id)
        assert follower.wait(30) == 0, err.read_text()
    finally:
        follower.kill()

    followed, stderr_lines = out.read_text(), err.read_text().splitlines()
    assert followed == "Refunded A-1.\n"
    assert stderr_lines[-1] == "— COMPLETED"
    said = "\n".join(stderr_lines)
    assert said.count(f"Lost the connection: cannot reach the Stigmer server at {own_server.url}") == 1
    assert said.count("Reconnected to the server") == 1
    for line in (
        "→ find_order",
        "waits for approval",
        "✓ refund_order approved by key:admin",
        "→ refund_order",
    ):
        assert said.count(line) == 1, line
    # The same steps as a plain `logs` of the finished run: no gap, no duplicate.
    final = client("execution", "logs", execution_id)
    assert final.out == followed
    steps = [line for line in stderr_lines if line.startswith(("→", "←", "✓", "✗"))]
    assert steps == [line for line in final.err.splitlines() if line.startswith(("→", "←", "✓", "✗"))]
    assert _tools(log) == ["find_order", "refund_order"]
    # `approve` follows the rest of the run on the server, as it would continue it locally.
    assert approved.out == "Refunded A-1.\n"
    assert [line.split(" (")[0] for line in approved.err.splitlines() if line.startswith(("→", "←"))] == [
        '→ refund_order {"id": "A-1"}',
        "← refund_order",
    ]
    assert approved.err.splitlines()[-1].startswith("— COMPLETED · 3 model calls")


def test_a_stopped_server_leaves_the_lease_of_a_running_execution_and_a_restart_continues_it(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    key = create_key(own_server.home, "admin")
    # The restarted server takes the run over at once (its holder's process is gone). The lease
    # must still outlast a stalled heartbeat: with 1 s, a loaded machine (the first tool call
    # imports the MCP SDK on the run's loop) let the server's second worker slot take the run
    # over mid-call, rightly re-running the call a third time.
    own_server.env = {"STIGMER_LEASE_SECONDS": "5"}
    own_server.start()
    client = logged_in(tmp_path, own_server, key)
    log = tmp_path / "tools.log"
    script = [{"toolCalls": [{"name": "sleep", "arguments": {"seconds": 2}}]}, {"text": "Slept."}]
    client("apply", "-f", write(client.cwd / "sleeper.json", _agent("sleeper", script, log)))
    client("agent", "execute", "sleeper", "Sleep", "--detach")
    execution_id = _latest_id(client)
    _wait_for("the tool call", lambda: _tools(log) == ["sleep"])

    assert own_server.terminate() == 0
    assert "running executions keep their leases" in own_server.output()
    with sqlite3.connect(own_server.home.database) as db:
        phase, owner = db.execute(
            "SELECT phase, lease_owner FROM agent_executions WHERE id = ?", (execution_id,)
        ).fetchone()
    assert (phase, bool(owner)) == ("RUNNING", True)  # it did not wait for the run, nor release it

    own_server.start()
    logs = client("execution", "logs", execution_id, "-f")

    assert logs.out == "Slept.\n"
    assert logs.err.splitlines()[-1] == "— COMPLETED"
    assert logs.err.count("→ sleep") == 1  # one recorded tool step
    assert _tools(log) == ["sleep", "sleep"]  # the call in flight at shutdown ran again, on resume
