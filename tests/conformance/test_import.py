"""Import: resources restored exactly as exported, all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.backend.protocol import Backend
from stigmer.errors import AlreadyExists, InvalidArgument, NotFound
from tests.builders import agent, agent_execution, counts, skill

CREATED = datetime(2024, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)
UPDATED = datetime(2024, 4, 2, 17, 5, 0, tzinfo=UTC)


def _exported_agent(name: str = "bot", agent_id: str = "agt_01hsexported0000000000000a") -> Agent:
    exported = agent(name, "Restored instructions.", labels={"team": "cs"})
    md = exported.metadata
    md.id, md.slug, md.version = agent_id, name, 7
    md.create_time.FromDatetime(CREATED)
    md.update_time.FromDatetime(UPDATED)
    exported.status.default_instance_id = "ain_01hsexported0000000000000a"
    return exported


def _exported_skill(name: str = "notes", skill_id: str = "skl_01hsexported0000000000000a") -> Skill:
    exported = skill(name, "# Restored")
    exported.metadata.id, exported.metadata.version = skill_id, 3
    exported.metadata.create_time.FromDatetime(CREATED)
    exported.metadata.update_time.FromDatetime(UPDATED)
    return exported


def test_import_restores_ids_versions_times_and_status(backend: Backend) -> None:
    exported = _exported_agent()

    assert backend.import_resources([exported]) == 1

    stored = backend.get(Agent, "agt_01hsexported0000000000000a")
    assert (stored.metadata.name, stored.metadata.slug, stored.metadata.version) == ("bot", "bot", 7)
    assert stored.metadata.create_time.ToDatetime(tzinfo=UTC) == CREATED
    assert stored.metadata.update_time.ToDatetime(tzinfo=UTC) == UPDATED
    assert dict(stored.metadata.labels) == {"team": "cs"}
    assert stored.spec == exported.spec
    assert stored.status.default_instance_id == "ain_01hsexported0000000000000a"


def test_an_imported_resource_continues_from_its_version(backend: Backend) -> None:
    backend.import_resources([_exported_agent()])

    [outcome] = backend.apply([agent("bot", "Changed after import.", labels={"team": "cs"})])

    assert (outcome.action, outcome.resource.metadata.version) == ("configured", 8)
    assert [(e.spec.version, e.spec.operation) for e in backend.history(Agent, "bot")] == [
        (7, "import"),
        (8, "update"),
    ]


def test_importing_the_same_export_twice_changes_nothing(backend: Backend) -> None:
    backend.import_resources([_exported_agent(), _exported_skill()])
    before = counts(backend)

    assert backend.import_resources([_exported_agent(), _exported_skill()]) == 2

    assert counts(backend) == before
    assert backend.get(Skill, "notes").metadata.version == 3


def test_import_restores_executions_in_their_phase(backend: Backend) -> None:
    backend.import_resources([_exported_agent()])
    finished = agent_execution("bot", "Hi")
    finished.metadata.id = finished.metadata.name = "aex_01hsexported0000000000000a"
    finished.metadata.version = 4
    finished.metadata.create_time.FromDatetime(CREATED)
    finished.metadata.update_time.FromDatetime(UPDATED)
    finished.status.phase = ExecutionPhase.COMPLETED
    finished.status.output = "Hello!"

    backend.import_resources([finished])

    stored = backend.get_execution("aex_01hsexported0000000000000a")
    assert isinstance(stored, AgentExecution)
    assert (stored.status.phase, stored.status.output, stored.metadata.version) == (
        ExecutionPhase.COMPLETED,
        "Hello!",
        4,
    )
    assert stored.metadata.create_time.ToDatetime(tzinfo=UTC) == CREATED


def test_an_import_with_one_bad_resource_writes_nothing(backend: Backend) -> None:
    handwritten = skill("handwritten")  # no id or version: apply it instead

    with pytest.raises(InvalidArgument) as err:
        backend.import_resources([_exported_skill(), handwritten])

    assert "apply" in err.value.hint
    assert counts(backend)["Skill"] == 0


def test_an_import_of_an_invalid_resource_writes_nothing(backend: Backend) -> None:
    broken = _exported_skill("broken", "skl_01hsexported0000000000000b")
    broken.spec.content = ""

    with pytest.raises(InvalidArgument):
        backend.import_resources([_exported_skill(), broken])

    assert counts(backend)["Skill"] == 0


def test_a_name_taken_by_another_id_refuses_the_whole_import(backend: Backend) -> None:
    existing = backend.create(agent("bot", "Already here."))
    before = counts(backend)

    with pytest.raises(AlreadyExists, match=existing.metadata.id) as err:
        backend.import_resources([_exported_skill(), _exported_agent("bot")])

    assert err.value.hint
    assert counts(backend) == before
    with pytest.raises(NotFound):
        backend.get(Skill, "notes")
    stored = backend.get(Agent, "bot")
    assert (stored.metadata.id, stored.metadata.version) == (existing.metadata.id, 1)
    assert stored.spec.instructions == "Already here."
