"""`agent create`, `workflow create`, `delete`, and what a user sees when a name is wrong."""

from __future__ import annotations

import pytest

from .helpers import Stigmer, table, write


def test_agent_create_then_get(stigmer: Stigmer) -> None:
    stigmer("apply", "-f", "examples/skills")
    result = stigmer(
        "agent",
        "create",
        "helper",
        "--instructions",
        "Help customers.",
        "--model",
        "scripted",
        "--skill",
        "refund-policy",
        "--mcp-server",
        "helpdesk",
        "--label",
        "team=cs",
    )
    assert result.out == "agent/helper created\n"
    assert result.err == (
        "Warning: agent/helper: spec.mcpServers[0].ref refers to McpServer 'helpdesk', "
        "which does not exist (yet)\n"
    )

    agent = stigmer.resource("agent", "helper")
    assert agent["metadata"]["labels"] == {"team": "cs"}
    assert agent["metadata"]["version"] == 1
    assert agent["spec"] == {
        "instructions": "Help customers.",
        "model": {"provider": "scripted"},
        "mcpServers": [{"ref": "helpdesk"}],
        "skills": ["refund-policy"],
    }
    [row] = table(stigmer("agent", "get", "helper").out)
    assert (row["NAME"], row["MODEL"], row["MCP SERVERS"], row["SKILLS"]) == (
        "helper",
        "scripted",
        "helpdesk",
        "refund-policy",
    )
    assert row["REFERENCES"] == "missing: mcpserver/helpdesk"
    assert stigmer.resource("agentinstance", "helper")["spec"]["agent"] == "helper"


def test_agent_create_twice_is_rejected(stigmer: Stigmer) -> None:
    stigmer("agent", "create", "helper", "--instructions", "Help.")
    again = stigmer("agent", "create", "helper", "--instructions", "Something else.", check=False)
    assert again.code == 1
    assert again.out == ""
    error, hint = again.err.splitlines()
    assert error == "Error: Agent 'helper' already exists"
    assert hint.startswith("Hint: ")
    assert "stigmer apply" in hint
    assert "stigmer delete agent helper" in hint
    agent = stigmer.resource("agent", "helper")
    assert (agent["metadata"]["version"], agent["spec"]["instructions"]) == (1, "Help.")


def test_agent_create_rejects_bad_options(stigmer: Stigmer) -> None:
    missing = stigmer("agent", "create", "helper", check=False)
    assert missing.code == 2
    assert "Missing option '--instructions'" in missing.err
    bad_name = stigmer("agent", "create", "help me!", "--instructions", "Help.", check=False)
    assert bad_name.code == 2
    assert bad_name.err.startswith("Error: Agent/help me!: metadata.name: invalid name 'help me!'\nHint: ")
    no_instructions = stigmer("agent", "create", "helper", "--instructions", " ", check=False)
    assert no_instructions.code == 2
    assert "spec.instructions: an agent needs instructions" in no_instructions.err
    assert stigmer.names("agents") == []


def test_workflow_create_chains_agents(stigmer: Stigmer) -> None:
    stigmer("agent", "create", "triage", "--instructions", "Sort the request.")
    stigmer("agent", "create", "responder", "--instructions", "Answer it.")
    result = stigmer("workflow", "create", "support", "--agent", "triage", "--agent", "responder")
    assert (result.out, result.err) == ("workflow/support created\n", "")

    spec = stigmer.resource("workflow", "support")["spec"]
    assert spec["tasks"] == [
        {"name": "step-1", "agent": "triage", "message": "${workflow.inputs.message}"},
        {
            "name": "step-2",
            "agent": "responder",
            "dependsOn": ["step-1"],
            "message": "${tasks.step-1.outputs.output}",
        },
    ]
    assert spec["inputs"]["message"]["type"] == "string"
    assert spec["outputs"] == {"answer": "${tasks.step-2.outputs.output}"}
    [row] = table(stigmer("workflow", "list").out)
    assert (row["NAME"], row["TASKS"], row["INPUTS"], row["REFERENCES"]) == ("support", "2", "message", "ok")
    assert stigmer.resource("workflowinstance", "support")["spec"]["workflow"] == "support"


def test_workflow_create_from_a_spec_file(stigmer: Stigmer) -> None:
    write(
        stigmer.cwd / "hello.spec.yaml",
        """
        inputs: {who: string}
        tasks:
          - name: greet
            set: {greeting: "Hello ${workflow.inputs.who}"}
        outputs: {greeting: "${tasks.greet.outputs.greeting}"}
        """,
    )
    stigmer("workflow", "create", "hello", "--from-file", "hello.spec.yaml", "--description", "Says hello.")
    spec = stigmer.resource("workflow", "hello")["spec"]
    assert spec["description"] == "Says hello."
    assert [t["name"] for t in spec["tasks"]] == ["greet"]


def test_workflow_create_from_a_file_points_errors_at_the_file(stigmer: Stigmer) -> None:
    write(
        stigmer.cwd / "typo.spec.yaml",
        """
        tasks:
          - name: greet
            sett: {greeting: Hello}
        """,
    )
    typo = stigmer("workflow", "create", "hello", "--from-file", "typo.spec.yaml", check=False)
    assert typo.code == 2
    assert typo.err.splitlines() == [
        "Error: typo.spec.yaml:3: Workflow/hello: spec.tasks[0].sett: unknown field 'sett'",
        "Hint: did you mean 'set'?",
    ]
    write(
        stigmer.cwd / "loop.yaml",
        """
        apiVersion: agentic.stigmer.ai/v1
        kind: Workflow
        metadata: {name: ignored}
        spec:
          tasks:
            - name: greet
              dependsOn: [greet]
              set: {greeting: Hello}
        """,
    )
    loop = stigmer("workflow", "create", "hello", "--from-file", "loop.yaml", check=False)
    assert loop.code == 2
    assert loop.err == (
        "Error: loop.yaml:7: Workflow/hello: spec.tasks[0].dependsOn[0]: task 'greet' depends on itself\n"
    )
    assert stigmer.names("workflows") == []


@pytest.mark.parametrize(
    "options", [[], ["--agent", "triage", "--from-file", "examples/agents/support-bot.yaml"]]
)
def test_workflow_create_needs_agents_or_a_file(stigmer: Stigmer, options: list[str]) -> None:
    result = stigmer("workflow", "create", "support", *options, check=False)
    assert result.code == 2
    assert "Error: give either --agent (one or more) or --from-file" in result.err
    assert "Usage: stigmer workflow create" in result.err
    assert not stigmer.database.exists() or stigmer.names("workflows") == []


def test_delete_removes_the_resource_and_its_default_instance(stigmer: Stigmer) -> None:
    stigmer("apply", "-f", "examples/")
    result = stigmer("delete", "agent", "support-bot")
    assert result.out == "agent/support-bot deleted\n"
    assert stigmer.names("agents") == ["release-notes-writer", "support-bot-scripted"]
    assert stigmer.names("agentinstances") == ["release-notes-writer", "support-bot-scripted"]

    assert (
        stigmer("workflow", "delete", "weekly-release-notes").out == "workflow/weekly-release-notes deleted\n"
    )
    assert stigmer.names("workflows") == ["order-update"]
    assert stigmer.names("workflowinstances") == ["order-update"]

    assert stigmer("agent", "delete", "release-notes-writer").out == "agent/release-notes-writer deleted\n"
    assert stigmer("delete", "skill", "refund-policy").out == "skill/refund-policy deleted\n"
    assert stigmer.names("agentinstances") == ["support-bot-scripted"]
    assert stigmer.names("skills") == []

    # History outlives the resource.
    history = stigmer("history", "agent", "support-bot", "-o", "json").json()
    assert [(e["spec"]["version"], e["spec"]["operation"]) for e in history] == [(1, "create"), (2, "delete")]


# (command, error, the `stigmer get` hint)
NOT_FOUND = [
    (("get", "agent", "nobody"), "Agent 'nobody' not found", "stigmer get agents"),
    (("agent", "get", "nobody"), "Agent 'nobody' not found", "stigmer get agents"),
    (("delete", "agent", "nobody"), "Agent 'nobody' not found", "stigmer get agents"),
    (("agent", "delete", "nobody"), "Agent 'nobody' not found", "stigmer get agents"),
    (("workflow", "get", "nobody"), "Workflow 'nobody' not found", "stigmer get workflows"),
    (("workflow", "delete", "nobody"), "Workflow 'nobody' not found", "stigmer get workflows"),
    (("delete", "skill", "nobody"), "Skill 'nobody' not found", "stigmer get skills"),
    (("get", "mcpserver", "nobody"), "McpServer 'nobody' not found", "stigmer get mcpservers"),
    (
        ("rollback", "environment", "nobody", "--to", "1"),
        "Environment 'nobody' not found",
        "stigmer get environments",
    ),
]


@pytest.mark.parametrize(("command", "error", "hint"), NOT_FOUND, ids=[" ".join(c[0]) for c in NOT_FOUND])
def test_not_found_exits_1_with_a_hint(
    examples_home: Stigmer, command: tuple[str, ...], error: str, hint: str
) -> None:
    result = examples_home(*command, check=False)
    assert result.code == 1
    assert result.out == ""
    assert result.err.splitlines() == [f"Error: {error}", f"Hint: list what exists with `{hint}`"]


def test_history_of_a_resource_that_never_existed(examples_home: Stigmer) -> None:
    result = examples_home("history", "agent", "nobody", check=False)
    assert result.code == 1
    assert "Error: Agent 'nobody' not found" in result.err
    assert "stigmer get agents" in result.err


def test_unknown_kind_on_the_command_line(examples_home: Stigmer) -> None:
    result = examples_home("get", "gadgets", check=False)
    assert result.code == 2
    assert result.err.splitlines() == [
        "Error: unknown kind 'gadgets'",
        "Hint: use one of: Agent, AgentInstance, Workflow, WorkflowInstance, Session, Skill, McpServer, "
        "Environment, Schedule, Webhook",
    ]
