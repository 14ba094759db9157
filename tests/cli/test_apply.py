"""`stigmer apply -f`: files, directories, stdin, dry runs, and what it reports."""

from __future__ import annotations

from .helpers import EXAMPLE_LABELS, Stigmer, skill_yaml, table, write


def test_apply_reports_created_then_unchanged_then_configured(stigmer: Stigmer) -> None:
    first = stigmer("apply", "-f", "examples/")
    assert first.lines() == [f"{label} created" for label in EXAMPLE_LABELS]
    assert first.err == ""

    second = stigmer("apply", "-f", "examples/")
    assert second.lines() == [f"{label} unchanged" for label in EXAMPLE_LABELS]

    skill_file = stigmer.cwd / "examples" / "skills" / "refund-policy.yaml"
    skill_file.write_text(skill_file.read_text().replace("within 30 days", "within 60 days"))
    third = stigmer("apply", "-f", "examples/")
    expected = {label: "unchanged" for label in EXAMPLE_LABELS} | {"skill/refund-policy": "configured"}
    assert third.lines() == [f"{label} {action}" for label, action in expected.items()]

    skill = stigmer.resource("skill", "refund-policy")
    assert "within 60 days" in skill["spec"]["content"]
    assert skill["metadata"]["version"] == 2
    assert stigmer.resource("agent", "support-bot")["metadata"]["version"] == 1


def test_dry_run_reports_and_writes_nothing(stigmer: Stigmer) -> None:
    dry = stigmer("apply", "-f", "examples/", "--dry-run")
    assert dry.lines() == [f"{label} created (dry run)" for label in EXAMPLE_LABELS]
    assert stigmer("get", "agents", "-o", "json").json() == []
    assert set(stigmer.counts().values()) == {0}

    stigmer("apply", "-f", "examples/")
    skill_file = stigmer.cwd / "examples" / "skills" / "refund-policy.yaml"
    skill_file.write_text(skill_file.read_text().replace("within 30 days", "within 60 days"))
    report = stigmer("apply", "-f", "examples/skills", "--dry-run", "-o", "json").json()
    assert [(r["action"], r["dryRun"]) for r in report] == [("configured", True)]
    assert "within 60 days" in report[0]["resource"]["spec"]["content"]
    stored = stigmer.resource("skill", "refund-policy")
    assert stored["metadata"]["version"] == 1
    assert "within 30 days" in stored["spec"]["content"]


def test_apply_from_stdin(stigmer: Stigmer) -> None:
    result = stigmer("apply", "-f", "-", input=skill_yaml("tone", "Be brief."))
    assert result.out == "skill/tone created\n"
    assert stigmer.resource("skill", "tone")["spec"]["content"] == "Be brief."


def test_apply_a_multi_document_file(stigmer: Stigmer) -> None:
    write(
        stigmer.cwd / "bundle.yaml",
        """
        apiVersion: agentic.stigmer.ai/v1
        kind: Skill
        metadata: {name: tone}
        spec: {content: Be kind.}
        ---
        apiVersion: agentic.stigmer.ai/v1
        kind: McpServer
        metadata: {name: search}
        spec:
          http: {url: "http://127.0.0.1:8931/mcp"}
        ---
        apiVersion: agentic.stigmer.ai/v1
        kind: Agent
        metadata: {name: researcher}
        spec:
          instructions: Look things up.
          model: scripted
          mcpServers: [search]
          skills: [tone]
        """,
    )
    result = stigmer("apply", "-f", "bundle.yaml")
    assert result.lines() == ["skill/tone created", "mcpserver/search created", "agent/researcher created"]
    assert result.err == "", "references inside one apply resolve against each other"
    agent = stigmer.resource("agent", "researcher")
    assert all(ref["resolved"] for ref in agent["status"]["references"])


def test_apply_a_directory_recursively(stigmer: Stigmer) -> None:
    write(stigmer.cwd / "repo" / "skills" / "tone.yaml", skill_yaml("tone"))
    write(stigmer.cwd / "repo" / "skills" / "deep" / "er" / "style.yml", skill_yaml("style"))
    write(
        stigmer.cwd / "repo" / "json" / "voice.json",
        '{"apiVersion": "agentic.stigmer.ai/v1", "kind": "Skill",'
        ' "metadata": {"name": "voice"}, "spec": {"content": "Speak up."}}',
    )
    write(stigmer.cwd / "repo" / "README.md", "# not a resource\n")
    result = stigmer("apply", "-f", "repo")
    assert sorted(result.lines()) == ["skill/style created", "skill/tone created", "skill/voice created"]
    assert stigmer.names("skills") == ["style", "tone", "voice"]


def test_apply_several_paths(stigmer: Stigmer) -> None:
    result = stigmer("apply", "-f", "examples/skills", "-f", "examples/mcpservers/helpdesk.yaml")
    assert sorted(result.lines()) == ["mcpserver/helpdesk created", "skill/refund-policy created"]


def test_missing_reference_warns_until_it_is_applied(stigmer: Stigmer) -> None:
    result = stigmer("apply", "-f", "examples/agents/support-bot.yaml")
    assert result.out == "agent/support-bot created\n"
    assert result.err.splitlines() == [
        "Warning: agent/support-bot: spec.mcpServers[0].ref refers to McpServer 'helpdesk', "
        "which does not exist (yet)",
        "Warning: agent/support-bot: spec.skills[0] refers to Skill 'refund-policy', "
        "which does not exist (yet)",
    ]
    [row] = table(stigmer("get", "agents").out)
    assert row["REFERENCES"] == "missing: mcpserver/helpdesk, skill/refund-policy"
    refs = stigmer.resource("agent", "support-bot")["status"]["references"]
    assert [(r["kind"], r["name"], r.get("resolved", False)) for r in refs] == [
        ("McpServer", "helpdesk", False),
        ("Skill", "refund-policy", False),
    ]

    stigmer("apply", "-f", "examples/mcpservers", "-f", "examples/skills")
    again = stigmer("apply", "-f", "examples/agents/support-bot.yaml")
    assert again.out == "agent/support-bot unchanged\n"
    assert again.err == ""
    assert table(stigmer("get", "agent", "support-bot").out)[0]["REFERENCES"] == "ok"
    refs = stigmer.resource("agent", "support-bot")["status"]["references"]
    assert all(r["resolved"] for r in refs)
