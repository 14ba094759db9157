"""`stigmer history` and `stigmer rollback`: every write is a version; a rollback is one too."""

from __future__ import annotations

from .helpers import Stigmer, skill_yaml, table, write


def test_history_and_rollback(stigmer: Stigmer) -> None:
    tone = write(stigmer.cwd / "tone.yaml", skill_yaml("tone", "Be kind."))
    stigmer("apply", "-f", "tone.yaml")
    write(tone, skill_yaml("tone", "Be brief."))
    assert stigmer("apply", "-f", "tone.yaml").out == "skill/tone configured\n"

    history = stigmer("history", "skill", "tone", "-o", "json").json()
    assert [(e["spec"]["version"], e["spec"]["operation"]) for e in history] == [(1, "create"), (2, "update")]
    assert [e["spec"]["snapshot"]["spec"]["content"] for e in history] == ["Be kind.", "Be brief."]
    assert [(r["VERSION"], r["OPERATION"]) for r in table(stigmer("history", "skill", "tone").out)] == [
        ("1", "create"),
        ("2", "update"),
    ]

    result = stigmer("rollback", "skill", "tone", "--to", "1")
    assert result.out == "skill/tone rolled back to version 1 (now version 3)\n"
    skill = stigmer.resource("skill", "tone")
    assert (skill["metadata"]["version"], skill["spec"]["content"]) == (3, "Be kind.")
    assert skill["metadata"]["id"] == history[0]["spec"]["resourceId"]
    assert skill["metadata"]["createTime"] == history[0]["metadata"]["createTime"]

    history = stigmer("history", "skill", "tone", "-o", "json").json()
    assert [(e["spec"]["version"], e["spec"]["operation"]) for e in history] == [
        (1, "create"),
        (2, "update"),
        (3, "rollback"),
    ]
    assert history[2]["spec"]["snapshot"]["spec"]["content"] == "Be kind."

    # The rolled-back state is what the file said at version 1: applying it again changes nothing.
    write(tone, skill_yaml("tone", "Be kind."))
    assert stigmer("apply", "-f", "tone.yaml").out == "skill/tone unchanged\n"


def test_rollback_to_a_missing_version(stigmer: Stigmer) -> None:
    write(stigmer.cwd / "tone.yaml", skill_yaml("tone"))
    stigmer("apply", "-f", "tone.yaml")
    result = stigmer("rollback", "skill", "tone", "--to", "9", check=False)
    assert result.code == 1
    assert result.err.splitlines() == [
        "Error: Skill 'tone' has no version 9",
        "Hint: versions: 1; see `stigmer history skill tone`",
    ]
    assert stigmer.resource("skill", "tone")["metadata"]["version"] == 1
    assert len(stigmer("history", "skill", "tone", "-o", "json").json()) == 1

    zero = stigmer("rollback", "skill", "tone", "--to", "0", check=False)
    assert zero.code == 2
    assert "--to" in zero.err


def test_rollback_of_an_agent_keeps_its_name_and_instance(stigmer: Stigmer) -> None:
    stigmer("agent", "create", "helper", "--instructions", "First.")
    agent_file = stigmer.cwd / "helper.yaml"
    write(
        agent_file,
        """
        apiVersion: agentic.stigmer.ai/v1
        kind: Agent
        metadata: {name: helper, labels: {team: cs}}
        spec: {instructions: Second., model: scripted}
        """,
    )
    stigmer("apply", "-f", agent_file)
    instance_before = stigmer.resource("agentinstance", "helper")
    stigmer("rollback", "agent", "helper", "--to", "1")
    agent = stigmer.resource("agent", "helper")
    assert agent["metadata"]["version"] == 3
    assert agent["spec"] == {"instructions": "First."}
    assert "labels" not in agent["metadata"]
    assert agent["status"]["defaultInstanceId"] == instance_before["metadata"]["id"]
    assert stigmer.resource("agentinstance", "helper") == instance_before
