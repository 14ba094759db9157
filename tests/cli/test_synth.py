"""Resources written in Python: `stigmer synth app.py` prints their YAML, and
`stigmer apply -f app.py` makes exactly what applying that YAML makes; then the workflow
runs its `@task` step and its agent (scripted model, a real MCP tool)."""

from __future__ import annotations

import json
from collections.abc import Callable

import yaml

from .helpers import Stigmer, write

APP = """
import sys

from stigmer.sdk.authoring import Agent, McpServer, Stdio, Workflow, agent_task
from stigmer.sdk.functions import task

helpdesk = McpServer(
    "helpdesk",
    stdio=Stdio(
        sys.executable, ["examples/mcpservers/helpdesk_server.py"], env={"HELPDESK_LOG": "tools.log"}
    ),
    enabled_tools=["find_order"],
)
script = [{"toolCalls": [{"name": "find_order", "arguments": {"id": "A-7"}}]}, {"text": "A-7 has shipped."}]
support = Agent(
    "support",
    instructions="Look orders up before you answer.",
    model={"provider": "scripted", "options": {"script": script}},
    mcp_servers=[helpdesk],
)


@task
def order_id(week: int) -> dict[str, str]:
    return {"id": f"A-{week}"}


lookup = order_id.step(week="${workflow.inputs.week}")
answer = agent_task("answer", support, f"Where is order {lookup.output('id')}?")
orders = Workflow(
    "orders",
    inputs={"week": int},
    tasks=[lookup, answer],
    outputs={"id": lookup.output("id"), "answer": answer.output()},
)
"""

LABELS = ["mcpserver/helpdesk", "agent/support", "workflow/orders"]


def test_synth_prints_the_yaml_that_apply_f_app_py_makes(
    stigmer: Stigmer, other_home: Callable[[str], Stigmer]
) -> None:
    write(stigmer.cwd / "app.py", APP)
    synthesised = stigmer("synth", "app.py")
    assert not stigmer.home.exists(), "synth needs no home"
    documents = list(yaml.safe_load_all(synthesised.out))
    assert [f"{d['kind'].lower()}/{d['metadata']['name']}" for d in documents] == LABELS
    assert documents[2]["spec"]["tasks"][0] == {
        "name": "order_id",
        "python": "app:order_id",
        "inputs": {"week": "${workflow.inputs.week}"},
    }
    assert json.loads(stigmer("synth", "app.py", "-o", "json").out) == documents

    from_python = stigmer("apply", "-f", "app.py")
    assert from_python.out == "".join(f"{label} created\n" for label in LABELS)
    from_yaml = other_home("yaml-home")
    from_yaml("apply", "-f", write(stigmer.cwd / "synth.yaml", synthesised.out))
    for label in LABELS:
        kind, name = label.split("/")
        assert stigmer.resource(kind, name)["spec"] == from_yaml.resource(kind, name)["spec"], label
    again = stigmer("apply", "-f", "app.py")
    assert again.out == "".join(f"{label} unchanged\n" for label in LABELS)


def test_the_workflow_runs_its_python_step_and_its_agent(stigmer: Stigmer) -> None:
    write(stigmer.cwd / "app.py", APP)
    stigmer("apply", "-f", "app.py")
    result = stigmer("workflow", "execute", "orders", "--input", "week=7")
    assert yaml.safe_load(result.out) == {"id": "A-7", "answer": "A-7 has shipped."}
    tools = [json.loads(line)["tool"] for line in (stigmer.cwd / "tools.log").read_text().splitlines()]
    assert tools == ["find_order"]


def test_a_broken_python_file_is_refused_naming_the_file_and_line(stigmer: Stigmer) -> None:
    write(stigmer.cwd / "broken.py", "import os\n\nraise RuntimeError('no database')\n")
    result = stigmer("apply", "-f", "broken.py", check=False)
    assert result.code == 2
    assert "broken.py:3: importing it raised RuntimeError: no database" in result.err
    write(
        stigmer.cwd / "invalid.py",
        """
        from stigmer.sdk.authoring import Agent

        bot = Agent("bot", instructions="")
        """,
    )
    result = stigmer("synth", "invalid.py", check=False)
    assert (result.code, result.out) == (2, "")
    assert "invalid.py:3: Agent/bot: spec.instructions: an agent needs instructions" in result.err
    write(stigmer.cwd / "empty.py", "x = 1\n")
    result = stigmer("apply", "-f", "empty.py", check=False)
    assert result.code == 2 and "empty.py: defines no resources" in result.err
    assert not stigmer.home.exists() or stigmer("get", "agents", "-o", "json").json() == []


def test_directories_are_searched_for_yaml_only(stigmer: Stigmer) -> None:
    # examples/ holds helpdesk_server.py: applying the directory must not import it.
    write(stigmer.cwd / "examples" / "app.py", "raise SystemExit('imported')\n")
    result = stigmer("apply", "-f", "examples/")
    assert "imported" not in result.err
