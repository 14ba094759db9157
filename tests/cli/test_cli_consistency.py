"""The same words do the same thing everywhere: --no-wait, -o json|yaml, history of every kind."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from .helpers import Stigmer, write

HELPDESK = Path(__file__).resolve().parents[2] / "examples" / "mcpservers" / "helpdesk_server.py"
PROBE = Path(__file__).resolve().parents[1] / "fixtures" / "mcp_servers" / "probe.py"

TWO_APPROVALS = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: two-approvals}
spec:
  tasks:
    - name: one
      approval: {message: "First?"}
    - name: two
      dependsOn: [one]
      approval: {message: "Second?"}
    - name: done
      dependsOn: [two]
      set: {ok: "yes"}
  outputs: {ok: "${tasks.done.outputs.ok}"}
"""


def _refunder(stigmer: Stigmer) -> None:
    script: list[Any] = [
        {"toolCalls": [{"name": "refund_order", "arguments": {"id": "A-1"}}]},
        {"toolCalls": [{"name": "refund_order", "arguments": {"id": "A-2"}}]},
        {"text": "Both refunded."},
    ]
    server = {
        "name": "helpdesk",
        "stdio": {"command": sys.executable, "args": [str(HELPDESK)]},
        "approvalRequired": ["refund_order"],
    }
    spec = {"instructions": "Refund.", "model": {"provider": "scripted", "options": {"script": script}}}
    doc = {"apiVersion": "agentic.stigmer.ai/v1", "kind": "Agent", "metadata": {"name": "refunder"}}
    stigmer(
        "apply",
        "-f",
        write(stigmer.cwd / "a.json", json.dumps({**doc, "spec": {**spec, "mcpServers": [server]}})),
    )


def _phase(stigmer: Stigmer, execution_id: str) -> str:
    return str(stigmer("execution", "get", execution_id, "-o", "json").json()["status"]["phase"])


def test_approve_and_reject_with_no_wait_return_at_the_next_approval(stigmer: Stigmer) -> None:
    _refunder(stigmer)
    stigmer("agent", "execute", "refunder", "Refund A-1 and A-2", "--no-wait")
    execution_id = stigmer("execution", "list", "-o", "json").json()[0]["metadata"]["id"]
    approved = stigmer("execution", "approve", execution_id, "--no-wait")
    assert "Waiting for approval of refund_order" in approved.err
    assert _phase(stigmer, execution_id) == "WAITING_APPROVAL"
    rejected = stigmer("execution", "reject", execution_id, "--reason", "one is enough", "--no-wait")
    assert rejected.out == "Both refunded.\n"
    assert _phase(stigmer, execution_id) == "COMPLETED"


def test_resume_with_no_wait_returns_at_an_approval(stigmer: Stigmer) -> None:
    _refunder(stigmer)
    killed = stigmer(
        "agent",
        "execute",
        "refunder",
        "Refund",
        env={"STIGMER_FAULTS": "agent.model_recorded=1"},
        check=False,
    )
    assert killed.code == -signal.SIGKILL
    execution_id = stigmer("execution", "list", "-o", "json").json()[0]["metadata"]["id"]
    resumed = stigmer("execution", "resume", execution_id, "--no-wait")
    assert "Waiting for approval of refund_order" in resumed.err
    assert _phase(stigmer, execution_id) == "WAITING_APPROVAL"


def test_workflow_approve_and_retry_with_no_wait(stigmer: Stigmer) -> None:
    stigmer("apply", "-f", write(stigmer.cwd / "w.yaml", TWO_APPROVALS))
    stigmer("workflow", "execute", "two-approvals", "--no-wait")
    execution_id = stigmer("execution", "list", "-o", "json").json()[0]["metadata"]["id"]
    stigmer("execution", "approve", execution_id, "--no-wait")
    assert _phase(stigmer, execution_id) == "WAITING_APPROVAL"
    rejected = stigmer("execution", "reject", execution_id, "--no-wait", check=False)
    assert rejected.code == 1
    assert _phase(stigmer, execution_id) == "FAILED"
    retried = stigmer("execution", "retry", execution_id, "--from", "two", "--no-wait", "-o", "json")
    record = retried.json()
    assert record["status"]["phase"] == "WAITING_APPROVAL"
    again = stigmer("execution", "approve", record["metadata"]["id"], "-o", "json").json()
    assert again["status"]["outputs"] == {"ok": "yes"}


def test_detach_prints_the_queued_record_in_the_format_asked_for(stigmer: Stigmer) -> None:
    stigmer("apply", "-f", write(stigmer.cwd / "w.yaml", TWO_APPROVALS))
    queued = stigmer("workflow", "execute", "two-approvals", "--detach", "-o", "json").json()
    assert queued["kind"] == "WorkflowExecution"
    assert queued["metadata"]["id"].startswith("wex_")
    assert queued["status"]["phase"] == "PENDING"
    stigmer("agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted")
    agent_run = yaml.safe_load(stigmer("agent", "execute", "echo", "hi", "--detach", "-o", "yaml").out)
    assert agent_run["kind"] == "AgentExecution" and agent_run["spec"]["message"] == "hi"
    plain = stigmer("agent", "execute", "echo", "hi", "--detach").out
    assert plain.strip().startswith("aex_") and len(plain.splitlines()) == 1


def test_history_accepts_every_kind_its_help_lists(stigmer: Stigmer) -> None:
    stigmer("apply", "-f", "examples/")
    venv = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    }  # the example's `python`
    stigmer("agent", "execute", "support-bot-scripted", "Where is A-1?", "--session", "alice", env=venv)
    triggers = [
        {"kind": "Schedule", "spec": {"every": "1h", "workflow": "order-update", "paused": True}},
        {"kind": "Webhook", "spec": {"workflow": "order-update", "environment": "staging"}},
    ]
    for doc in triggers:  # examples/ has none: they would fire in every test that applies it
        doc.update(apiVersion="agentic.stigmer.ai/v1", metadata={"name": "orders"})
        stigmer("apply", "-f", write(stigmer.cwd / f"{doc['kind']}.json", json.dumps(doc)))
    epilog = " ".join(stigmer("history", "--help").out.split("KIND is ", 1)[1].split())
    words = [w.strip(",") for w in epilog.split(" (singular", 1)[0].replace(" or ", ", ").split(", ")]
    assert words[-1] == "execution" and "agent" in words
    for word in words:
        if word == "execution":
            names = [str(stigmer("execution", "list", "-o", "json").json()[0]["metadata"]["id"])]
        else:
            names = stigmer.names(word)
        assert names, f"no {word} to show the history of"
        versions = stigmer("history", word, names[0], "-o", "json").json()
        assert versions and versions[0]["spec"]["operation"] == "create", word
    bad = stigmer("history", "execution", "support-bot", check=False)
    assert bad.code == 2 and "is not an execution id" in bad.err


def test_commands_that_change_something_print_the_result_as_json_or_yaml(stigmer: Stigmer) -> None:
    created = stigmer(
        "agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted", "-o", "json"
    )
    assert created.json()["kind"] == "Agent" and created.json()["metadata"]["version"] == 1
    env = stigmer("env", "create", "dev", "--var", "A=1", "--secret", "T=s3cret", "-o", "json").json()
    assert env["spec"]["secrets"] == {"T": "****"}
    changed = yaml.safe_load(stigmer("env", "set", "dev", "--var", "B=2", "-o", "yaml").out)
    assert changed["spec"]["variables"] == {"A": "1", "B": "2"}
    assert stigmer("env", "unset", "dev", "B", "-o", "json").json()["spec"]["variables"] == {"A": "1"}
    stigmer("agent", "create", "echo2", "--instructions", "Again.", "--model", "scripted")
    stigmer("apply", "-f", write(stigmer.cwd / "w.yaml", TWO_APPROVALS))
    rolled = stigmer("rollback", "env", "dev", "--to", "1", "-o", "json").json()
    assert rolled["spec"]["variables"] == {"A": "1"} and rolled["metadata"]["version"] == 4
    execution_id = stigmer("agent", "execute", "echo", "hi", "--detach").out.strip()
    cancelled = stigmer("execution", "cancel", execution_id, "-o", "json").json()
    assert cancelled["status"]["phase"] == "CANCELLED"
    assert stigmer("secrets", "rotate-key", "-o", "json").json() == {"resealed": 1}
    assert stigmer("delete", "agent", "echo", "-o", "json").json()["metadata"]["name"] == "echo"
    assert stigmer("agent", "delete", "echo2", "-o", "yaml").out.startswith("apiVersion:")
    assert stigmer("env", "delete", "dev", "-o", "json").json()["kind"] == "Environment"
    backup = stigmer("export", "--all").out
    assert stigmer("import", "-o", "json", input=backup).json() == {"imported": 3}
    key = stigmer("server", "keys", "create", "ci", "-o", "json").json()
    assert key["name"] == "ci" and key["key"].startswith("sk_")
    assert stigmer("server", "keys", "revoke", "ci", "-o", "json").json() == {"name": "ci", "revoked": True}
    # Without -o, a sentence, as before.
    assert stigmer("agent", "create", "e3", "--instructions", "x").out == "agent/e3 created\n"


CHATTY = """
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {{name: adder}}
spec:
  instructions: Add.
  model:
    provider: scripted
    options:
      script:
        - toolCalls: [{{name: add, arguments: {{a: 1, b: 2}}}}]
        - echoToolResult: true
  mcpServers:
    - name: probe
      stdio: {{command: {python}, args: [{probe}], env: {{PROBE_BANNER: "probe ready"}}}}
"""


def test_library_log_lines_reach_the_terminal_only_with_debug(stigmer: Stigmer) -> None:
    # The server prints a line that is not JSON-RPC: the MCP library logs an error with a
    # traceback of its own, which says nothing a user can act on (the run goes on).
    stigmer(
        "apply", "-f", write(stigmer.cwd / "adder.yaml", CHATTY.format(python=sys.executable, probe=PROBE))
    )
    quiet = stigmer("agent", "execute", "adder", "1 + 2?")
    debug = stigmer("--debug", "agent", "execute", "adder", "1 + 2?")
    assert quiet.out == debug.out == "3\n"
    assert "Failed to parse JSONRPC message from server" in debug.err  # the library did speak
    assert "Failed to parse" not in quiet.err and "Traceback" not in quiet.err
    # Stigmer's own lines only: the call, its result, the summary.
    assert [line[:7] for line in quiet.err.splitlines()] == ["→ add {", "← add (", "— COMPL"]
