"""Testing your own automations: stigmer.testing's sandbox, scripted model and pytest plugin."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.sdk.events import ToolStarted
from stigmer.testing import sandbox, scripted, tool_call

HELPDESK = Path(__file__).resolve().parents[2] / "examples" / "mcpservers" / "helpdesk_server.py"

HELPDESK_SERVER = {
    "kind": "McpServer",
    "metadata": {"name": "helpdesk"},
    "spec": {"stdio": {"command": sys.executable, "args": [str(HELPDESK)]}},
}


def order_bot(*turns: str | dict[str, object]) -> dict[str, object]:
    return {
        "kind": "Agent",
        "metadata": {"name": "order-bot"},
        "spec": {
            "instructions": "Look orders up with the helpdesk tools.",
            "model": scripted(*turns),
            "mcpServers": ["helpdesk"],
        },
    }


def test_an_agent_is_tested_with_a_scripted_model_in_a_sandbox() -> None:
    with sandbox(HELPDESK_SERVER, order_bot(tool_call("find_order", id="A-1"), "It ships today.")) as client:
        home = client.home
        assert home is not None and (home / "master.key").exists()  # never the OS keyring
        stream = client.agents.execute("order-bot", "Where is A-1?", stream=True)
        tools = [e.name for e in stream if isinstance(e, ToolStarted)]
        assert tools == ["find_order"]
        assert stream.execution.status.output == "It ships today."
        assert stream.execution.status.tool_calls[0].result.startswith("Order A-1: ")
    assert not home.exists()


def test_an_agent_without_a_model_uses_the_scripted_one() -> None:
    with sandbox({"kind": "Agent", "metadata": {"name": "bot"}, "spec": {"instructions": "Hi."}}) as client:
        assert client.agents.execute("bot", "ping").status.output == "echo: ping"


def test_a_workflow_with_an_agent_task_is_tested_in_a_sandbox() -> None:
    flow = {
        "kind": "Workflow",
        "metadata": {"name": "triage"},
        "spec": {
            "inputs": {"order": "string"},
            "tasks": [
                {"name": "ask", "agent": "order-bot", "message": "Where is ${workflow.inputs.order}?"},
                {"name": "report", "set": {"answer": "${tasks.ask.output}"}},
            ],
            "outputs": {"answer": "${tasks.report.outputs.answer}"},
        },
    }
    with sandbox(HELPDESK_SERVER, order_bot("On its way."), flow) as client:
        done = client.workflows.execute("triage", {"order": "B-2"})
        assert done.status.phase == ExecutionPhase.COMPLETED
        assert done.status.outputs["answer"] == "On its way."


def test_the_doc_examples_run() -> None:
    # The module, not the function of the same name that stigmer.testing exports.
    result = doctest.testmod(importlib.import_module("stigmer.testing.sandbox"))
    assert result.attempted > 0
    assert result.failed == 0


def test_the_pytest_plugin_gives_a_test_a_client(tmp_path: Path) -> None:
    # No conftest: installing stigmer registers the plugin (a pytest11 entry point).
    (tmp_path / "test_my_bot.py").write_text(
        textwrap.dedent(
            """
            from stigmer.testing import scripted

            def test_bot_greets(stigmer_client):
                bot = {"instructions": "Greet.", "model": scripted("Hi!")}
                stigmer_client.agents.apply({"metadata": {"name": "bot"}, "spec": bot})
                assert stigmer_client.agents.execute("bot", "hello").status.output == "Hi!"

            def test_each_test_has_a_home_of_its_own(stigmer_client):
                assert stigmer_client.agents.list() == []
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_importing_stigmer_testing_stays_cheap() -> None:
    code = (
        "import sys, stigmer.testing; "
        "print(sorted(m for m in ('grpc', 'mcp', 'stigmer.engine.local') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
