"""The CLI against a server: login, apply, get, agent execute, logs -f, status, switch, logout."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from tests.cli.helpers import Stigmer
from tests.server.conftest import logged_in
from tests.server.harness import ServerProcess

QUESTION = "Where is order A-1?"
# The example agents start their MCP server with `python`: this venv's.
VENV_PATH = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def _comparable(err: str) -> list[str]:
    """stderr lines without what differs between two runs (ids, timings, durations)."""
    lines = []
    for line in err.splitlines():
        line = re.sub(r"aex_\w+", "ID", line)
        line = re.sub(r"\(\d+ ms\)", "(N ms)", line)
        line = re.sub(r" · \d+\.\ds$", "", line)
        lines.append(line)
    return lines


def test_a_second_user_with_only_a_url_and_a_key_shares_the_first_users_agents(
    served: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, key = served
    first = server.home  # works on the server's machine, in its home, without the server
    first("apply", "-f", "examples/")
    second = logged_in(tmp_path, server, key)

    assert second.names("agents") == first.names("agents")
    second("apply", "-f", second.cwd / "examples" / "skills")  # unchanged: the same file
    second("agent", "create", "echo-bot", "--instructions", "Repeat.", "--model", "scripted")
    assert "echo-bot" in first.names("agents")

    remote = second("agent", "execute", "support-bot-scripted", QUESTION)
    # The same run in a home of its own (the server's worker would race a run in its home).
    alone = Stigmer(tmp_path / "local-home", second.cwd)
    alone("apply", "-f", "examples/")
    local = alone("agent", "execute", "support-bot-scripted", QUESTION, env=VENV_PATH)

    assert remote.out == local.out == "Order A-1 has shipped: 2 wool scarves, 10.00 EUR.\n"
    assert _comparable(remote.err) == _comparable(local.err)
    assert _comparable(remote.err)[-1].startswith("— COMPLETED · 2 model calls · ")

    record = second("agent", "execute", "echo-bot", "hi", "-o", "json").json()
    assert (record["status"]["phase"], record["status"]["output"]) == ("COMPLETED", "echo: hi")
    runs = second("execution", "list", "-o", "json").json()
    assert [r["metadata"]["id"] for r in runs] == [
        r["metadata"]["id"] for r in first("execution", "list", "-o", "json").json()
    ]


def test_logs_follow_through_the_server_prints_what_local_logs_print(
    served: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, key = served
    server.home("apply", "-f", "examples/")
    client = logged_in(tmp_path, server, key)
    client("agent", "execute", "support-bot-scripted", QUESTION)
    [latest, *_] = client("execution", "list", "-o", "json").json()
    execution_id = latest["metadata"]["id"]

    followed = client("execution", "logs", execution_id, "-f")
    local = server.home("execution", "logs", execution_id)

    assert followed.out == local.out == "Order A-1 has shipped: 2 wool scarves, 10.00 EUR.\n"
    assert followed.err == local.err
    assert followed.err.splitlines()[-1] == "— COMPLETED"
    steps = client("execution", "logs", execution_id, "-f", "-o", "json").out
    assert steps.count('"name": "tool:find_order"') == 1


def test_login_stores_the_server_in_config_and_the_key_in_a_private_file(
    served: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, key = served
    client = logged_in(tmp_path, server, key)

    config = yaml.safe_load((client.home / "config.yaml").read_text())
    assert (config["backend"], config["server"]) == ("cloud", server.url)
    credentials = client.home / "credentials.yaml"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert key in credentials.read_text()
    assert key not in (client.home / "config.yaml").read_text()


def test_status_switch_and_logout(served: tuple[ServerProcess, str], tmp_path: Path) -> None:
    server, key = served
    client = logged_in(tmp_path, server, key)

    status = client("backend", "status")
    assert f"server:         {server.url} (serving)" in status.out
    assert "api key:        works (admin)" in status.out
    assert re.search(r"server version: \d+\.\d+", status.out)
    data = client("backend", "status", "-o", "json").json()
    assert (data["backend"], data["key"], data["type"], data["apiKey"]) == (
        "cloud",
        "works",
        "remote",
        "admin",
    )

    assert client("backend", "switch", "local").out.startswith("backend: local")
    assert client("backend", "status", "-o", "json").json()["type"] == "local"
    assert client.names("agents") == []
    client("backend", "switch", "cloud")
    assert client("backend", "status", "-o", "json").json()["type"] == "remote"

    client("logout")
    assert yaml.safe_load((client.home / "config.yaml").read_text())["backend"] == "local"
    assert key not in (client.home / "credentials.yaml").read_text()
    refused = client("backend", "switch", "cloud", check=False)
    assert refused.code == 2 and "stigmer login" in refused.err


def test_status_says_when_the_key_is_refused_or_the_server_is_gone(
    served: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, key = served
    client = logged_in(tmp_path, server, key)
    (client.home / "credentials.yaml").write_text(f"tokens:\n  {server.url}: sk_0000_revoked\n")

    refused = client("backend", "status", check=False)
    assert refused.code == 1
    assert "(serving)" in refused.out and "api key:        refused" in refused.out
    assert "Error: the API key was refused" in refused.err

    (client.home / "config.yaml").write_text("backend: cloud\nserver: grpc://127.0.0.1:9\n")
    gone = client("backend", "status", "-o", "json", check=False)
    assert gone.code == 1
    assert gone.json()["health"] == "unreachable" and "cannot reach" in gone.json()["error"]


def test_a_login_with_a_wrong_key_is_refused_and_stores_nothing(
    served: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, _ = served
    client = Stigmer(tmp_path / "home", tmp_path)

    result = client("login", server.url, "--token", "sk_0000_wrong", check=False)

    assert result.code == 1 and "the API key was refused" in result.err
    assert not (client.home / "config.yaml").exists()
    assert not (client.home / "credentials.yaml").exists()


def test_local_mode_never_imports_grpc(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from stigmer.cli.entry import main\n"
        "for argv in (['version'], ['get', 'agents'], ['backend', 'status']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in sys.modules if m == 'grpc' or m.startswith('grpc.')))\n"
    )
    home = Stigmer(tmp_path / "home", tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=home.env(), check=True, timeout=60
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


FLOW = """
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {name: echo-bot}
spec: {instructions: Repeat., model: scripted}
---
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: greet-and-check}
spec:
  inputs: {who: string}
  tasks:
    - {name: greet, agent: echo-bot, message: "hello ${workflow.inputs.who}"}
    - {name: check, dependsOn: [greet], approval: {message: "send it?"}}
    - {name: send, dependsOn: [check], set: {sent: "${tasks.greet.output}"}}
  outputs: {sent: "${tasks.send.outputs.sent}"}
"""


def test_a_remote_user_runs_a_workflow_on_the_server_and_approves_it(
    served: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, key = served
    second = logged_in(tmp_path, server, key)
    (second.cwd / "flow.yaml").write_text(FLOW)
    second("apply", "-f", "flow.yaml")
    paused = second("workflow", "execute", "greet-and-check", "--input", "who=ann", "--no-wait")
    assert "greet: COMPLETED" in paused.err and "Waiting for approval" in paused.err
    runs = second("execution", "list", "--kind", "workflow", "-o", "json").json()
    execution_id = runs[0]["metadata"]["id"]
    assert runs[0]["status"]["phase"] == "WAITING_APPROVAL"
    approved = second("execution", "approve", execution_id)
    assert yaml.safe_load(approved.out) == {"sent": "echo: hello ann"}
    assert "send: COMPLETED" in approved.err and "— COMPLETED" in approved.err
    # The first user, on the server's machine, sees the same record.
    record = server.home("execution", "get", execution_id, "-o", "json").json()
    assert record["status"]["outputs"] == {"sent": "echo: hello ann"}
    assert [t["name"] for t in record["status"]["tasks"]] == ["greet", "check", "send"]
