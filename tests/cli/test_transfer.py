"""`stigmer export` and `stigmer import`: a backup restores every resource exactly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from .helpers import LISTED_KINDS, Stigmer, create_executions, skill_yaml, write


@pytest.fixture
def source(stigmer: Stigmer) -> Stigmer:
    """A home with one of everything: examples, CLI-made definitions, a second version, executions."""
    stigmer("apply", "-f", "examples/")
    stigmer("agent", "create", "helper", "--instructions", "Help.", "--skill", "refund-policy")
    stigmer("workflow", "create", "chain", "--agent", "helper", "--agent", "support-bot")
    skill_file = stigmer.cwd / "examples" / "skills" / "refund-policy.yaml"
    skill_file.write_text(skill_file.read_text().replace("30 days", "60 days"))
    stigmer("apply", "-f", "examples/skills")
    create_executions(stigmer)
    return stigmer


def snapshot(home: Stigmer) -> dict[str, Any]:
    """What `get` shows for every kind, and every execution."""
    shown: dict[str, Any] = {kind: home("get", kind, "-o", "json").json() for kind in LISTED_KINDS}
    shown["executions"] = home("execution", "list", "-o", "json").json()
    return shown


def test_export_then_import_into_a_new_home_reproduces_everything(
    source: Stigmer, other_home: Callable[[str], Stigmer]
) -> None:
    exported = source("export", "--all")
    documents = list(yaml.safe_load_all(exported.out))
    assert exported.err == f"Exported {len(documents)} resources.\n"
    assert sorted({d["kind"] for d in documents}) == [
        "Agent",
        "AgentExecution",
        "AgentInstance",
        "Environment",
        "McpServer",
        "Skill",
        "Workflow",
        "WorkflowExecution",
        "WorkflowInstance",
    ]
    assert len(documents) == 19

    restored = other_home("restored")
    assert restored("import", input=exported.out).out == f"Imported {len(documents)} resources.\n"

    before, after = snapshot(source), snapshot(restored)
    for kind in before:
        assert after[kind] == before[kind], kind
    skill = next(s for s in after["skills"] if s["metadata"]["name"] == "refund-policy")
    assert skill["metadata"]["version"] == 2
    assert "60 days" in skill["spec"]["content"]

    # Importing the same backup again replaces each resource by id: nothing changes.
    assert restored("import", input=exported.out).out == f"Imported {len(documents)} resources.\n"
    assert restored("export", "--all").out == exported.out


def test_json_export_imports_from_a_file(source: Stigmer, other_home: Callable[[str], Stigmer]) -> None:
    backup = source.cwd / "backup.json"
    backup.write_text(source("export", "--all", "-o", "json").out)
    restored = other_home("restored")
    restored("import", "-f", backup)
    assert restored("export", "--all").out == source("export", "--all").out


def test_export_some_kinds(source: Stigmer) -> None:
    documents = list(yaml.safe_load_all(source("export", "agents", "skills").out))
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("Agent", "helper"),
        ("Agent", "release-notes-writer"),
        ("Agent", "support-bot"),
        ("Agent", "support-bot-scripted"),
        ("Skill", "refund-policy"),
    ]
    both = source("export", "--all", "agents", check=False)
    assert both.code == 2
    assert "give kinds or --all, not both" in both.err


def test_import_refuses_a_name_taken_by_another_resource(
    source: Stigmer, other_home: Callable[[str], Stigmer]
) -> None:
    exported = source("export", "--all").out
    target = other_home("target")
    target("apply", "-f", "examples/")
    before = target.counts()

    result = target("import", input=exported, check=False)
    assert result.code == 1
    assert "already exists here with another id" in result.err
    assert "Hint: import into an empty home, or delete the existing resource first" in result.err
    assert target.counts() == before


def test_import_refuses_a_hand_written_file(stigmer: Stigmer) -> None:
    write(stigmer.cwd / "tone.yaml", skill_yaml("tone"))
    result = stigmer("import", "-f", "tone.yaml", check=False)
    assert result.code == 2
    assert "Skill/tone: imported resources need metadata.id and metadata.version" in result.err
    assert "tone.yaml" in result.err
    assert "use `stigmer apply` for hand-written files" in result.err
    assert set(stigmer.counts().values()) == {0}
