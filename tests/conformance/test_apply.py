"""Apply: create or update by kind and name, all or nothing, with reference warnings."""

from __future__ import annotations

import pytest

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentinstance.v1.agentinstance_pb2 import AgentInstance
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.api.workflow.v1.workflow_pb2 import Workflow
from stigmer.api.workflowinstance.v1.workflowinstance_pb2 import WorkflowInstance
from stigmer.backend.protocol import Backend
from stigmer.errors import InvalidArgument, NotFound
from tests.builders import agent, agent_execution, counts, mcp_server, skill, workflow

CYCLE = [
    {"name": "a", "set": {"x": "1"}, "dependsOn": ["b"]},
    {"name": "b", "set": {"x": "2"}, "dependsOn": ["a"]},
]


def test_apply_creates_then_configures_then_leaves_unchanged(backend: Backend) -> None:
    [first] = backend.apply([agent("bot", "one")])
    [second] = backend.apply([agent("bot", "two")])
    [third] = backend.apply([agent("bot", "two")])

    assert (first.action, first.resource.metadata.version) == ("created", 1)
    assert (second.action, second.resource.metadata.version) == ("configured", 2)
    assert (third.action, third.resource.metadata.version) == ("unchanged", 2)
    assert first.resource.metadata.id == second.resource.metadata.id == third.resource.metadata.id
    assert backend.get(Agent, "bot").spec.instructions == "two"
    assert [v.spec.operation for v in backend.history(Agent, "bot")] == ["create", "update"]


def test_a_label_change_alone_configures(backend: Backend) -> None:
    backend.apply([skill("notes", labels={"team": "cs"})])

    [outcome] = backend.apply([skill("notes", labels={"team": "ops"})])

    assert outcome.action == "configured"
    assert dict(backend.get(Skill, "notes").metadata.labels) == {"team": "ops"}


def test_apply_reports_one_outcome_per_resource_in_order(backend: Backend) -> None:
    backend.apply([skill("old")])

    outcomes = backend.apply([skill("new"), skill("old"), mcp_server("helpdesk")])

    assert [(o.resource.metadata.name, o.action) for o in outcomes] == [
        ("new", "created"),
        ("old", "unchanged"),
        ("helpdesk", "created"),
    ]


def test_a_batch_with_one_invalid_resource_writes_nothing(backend: Backend) -> None:
    backend.apply([agent("bot", "original")])
    before = counts(backend)

    with pytest.raises(InvalidArgument) as err:
        backend.apply([skill("notes"), agent("bot", "changed"), workflow("broken", CYCLE)])

    assert err.value.resource == "Workflow/broken"
    assert counts(backend) == before
    assert backend.get(Agent, "bot").spec.instructions == "original"
    with pytest.raises(NotFound):
        backend.get(Skill, "notes")


@pytest.mark.parametrize("twin", ["notes", "Notes", "NOTES"])
def test_the_same_name_twice_in_one_batch_is_invalid(backend: Backend, twin: str) -> None:
    with pytest.raises(InvalidArgument, match="twice") as err:
        backend.apply([skill("notes"), agent("bot"), skill(twin, "# Other")])

    assert err.value.field == "metadata.name"
    assert counts(backend)["Skill"] == counts(backend)["Agent"] == 0


def test_names_that_share_a_slug_are_the_same_resource_in_one_batch(backend: Backend) -> None:
    with pytest.raises(InvalidArgument, match="twice"):
        backend.apply([skill("Refund Policy"), skill("refund-policy")])

    assert counts(backend)["Skill"] == 0


def test_dry_run_reports_what_would_happen_and_writes_nothing(backend: Backend) -> None:
    backend.apply([skill("kept"), skill("changed", "# Before")])
    before = counts(backend)

    outcomes = backend.apply([skill("kept"), skill("changed", "# After"), skill("added")], dry_run=True)

    assert [o.action for o in outcomes] == ["unchanged", "configured", "created"]
    assert counts(backend) == before
    assert backend.get(Skill, "changed").spec.content == "# Before"
    assert backend.get(Skill, "changed").metadata.version == 1
    with pytest.raises(NotFound):
        backend.get(Skill, "added")


def test_dry_run_still_refuses_an_invalid_batch(backend: Backend) -> None:
    with pytest.raises(InvalidArgument):
        backend.apply([skill("notes"), workflow("broken", CYCLE)], dry_run=True)


def test_missing_references_are_warnings_until_they_exist(backend: Backend) -> None:
    bot = agent("bot", skills=["refund-policy"], mcpServers=["helpdesk"])

    [outcome] = backend.apply([bot])

    assert outcome.action == "created"
    mcp_warning, skill_warning = outcome.warnings
    assert "spec.mcpServers[0]" in mcp_warning and "'helpdesk'" in mcp_warning
    assert "spec.skills[0]" in skill_warning and "'refund-policy'" in skill_warning

    backend.apply([skill("refund-policy"), mcp_server("helpdesk")])
    [again] = backend.apply([bot])

    assert again.action == "unchanged"
    assert again.warnings == []


def test_references_resolve_within_one_batch_in_any_order(backend: Backend) -> None:
    outcomes = backend.apply([agent("bot", skills=["refund-policy"]), skill("refund-policy")])

    assert [o.warnings for o in outcomes] == [[], []]


def test_get_shows_each_reference_and_whether_it_resolves(backend: Backend) -> None:
    backend.apply([agent("bot", skills=["refund-policy", "tone"]), skill("tone")])

    refs = backend.get(Agent, "bot").status.references

    assert [(r.kind, r.name, r.field, r.resolved) for r in refs] == [
        ("Skill", "refund-policy", "spec.skills[0]", False),
        ("Skill", "tone", "spec.skills[1]", True),
    ]
    assert refs[0].id == ""
    assert refs[1].id == backend.get(Skill, "tone").metadata.id

    backend.apply([skill("refund-policy")])
    assert all(r.resolved for r in backend.get(Agent, "bot").status.references)

    backend.delete(Skill, "tone")
    assert [r.resolved for r in backend.get(Agent, "bot").status.references] == [True, False]


def test_workflow_tasks_reference_agents(backend: Backend) -> None:
    tasks = [{"name": "write", "agent": "writer", "message": "Write the notes."}]

    [outcome] = backend.apply([workflow("release-notes", tasks)])

    assert outcome.warnings and "spec.tasks[0].agent" in outcome.warnings[0]
    backend.apply([agent("writer")])
    [ref] = backend.get(Workflow, "release-notes").status.references
    assert (ref.kind, ref.name, ref.field, ref.resolved) == ("Agent", "writer", "spec.tasks[0].agent", True)


def test_executions_cannot_be_applied(backend: Backend) -> None:
    backend.apply([agent("bot")])

    with pytest.raises(InvalidArgument, match="written by Stigmer"):
        backend.apply([agent_execution("bot")])

    assert counts(backend)["AgentExecution"] == 0


def test_an_agent_gets_a_default_instance_of_the_same_name(backend: Backend) -> None:
    [outcome] = backend.apply([agent("Support Bot")])
    assert isinstance(outcome.resource, Agent)

    instance = backend.get(AgentInstance, "support-bot")
    assert instance.metadata.name == "Support Bot"
    assert instance.spec.agent == "Support Bot"
    assert outcome.resource.status.default_instance_id == instance.metadata.id
    [ref] = instance.status.references
    assert (ref.kind, ref.resolved, ref.id) == ("Agent", True, outcome.resource.metadata.id)

    backend.apply([agent("Support Bot", "changed")])
    assert counts(backend)["AgentInstance"] == 1


def test_deleting_an_agent_deletes_its_default_instance(backend: Backend) -> None:
    backend.apply([agent("bot"), agent("other")])

    backend.delete(Agent, "bot")

    with pytest.raises(NotFound):
        backend.get(AgentInstance, "bot")
    assert backend.get(AgentInstance, "other").spec.agent == "other"


def test_a_workflow_gets_a_default_instance_that_goes_with_it(backend: Backend) -> None:
    backend.create(workflow("release-notes"))

    instance = backend.get(WorkflowInstance, "release-notes")
    assert instance.spec.workflow == "release-notes"
    assert backend.get(Workflow, "release-notes").status.default_instance_id == instance.metadata.id

    backend.delete(Workflow, "release-notes")
    with pytest.raises(NotFound):
        backend.get(WorkflowInstance, "release-notes")
    assert counts(backend)["WorkflowInstance"] == 0
