"""History of every write, and rollback to an earlier version."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.apiresourceversion.v1.apiresourceversion_pb2 import ApiResourceVersion
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.backend.protocol import Backend
from stigmer.errors import NotFound
from tests.builders import agent, counts, skill


def _snapshot(entry: ApiResourceVersion) -> dict[str, Any]:
    return json_format.MessageToDict(entry.spec.snapshot)


def _write_three_versions(backend: Backend) -> str:
    created = backend.create(agent("bot", "one"))
    created.spec.instructions = "two"
    backend.update(created)
    backend.apply([agent("bot", "three", labels={"stage": "beta"})])
    return created.metadata.id


def test_every_write_is_a_numbered_version(backend: Backend) -> None:
    bot_id = _write_three_versions(backend)

    entries = backend.history(Agent, "bot")

    assert [(e.spec.version, e.spec.operation) for e in entries] == [
        (1, "create"),
        (2, "update"),
        (3, "update"),
    ]
    assert {(e.spec.resource_kind, e.spec.resource_id, e.spec.resource_name) for e in entries} == {
        ("Agent", bot_id, "bot")
    }
    assert [_snapshot(e)["spec"]["instructions"] for e in entries] == ["one", "two", "three"]
    assert _snapshot(entries[2])["metadata"]["labels"] == {"stage": "beta"}
    assert backend.history(Agent, bot_id) == entries


def test_history_of_a_deleted_resource_is_still_visible_by_name(backend: Backend) -> None:
    created = backend.create(skill("notes", "# One"))
    created.spec.content = "# Two"
    backend.update(created)
    backend.delete(Skill, "notes")

    entries = backend.history(Skill, "notes")

    assert [(e.spec.version, e.spec.operation) for e in entries] == [
        (1, "create"),
        (2, "update"),
        (3, "delete"),
    ]
    assert _snapshot(entries[2])["spec"]["content"] == "# Two"


def test_history_of_something_that_never_existed_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFound):
        backend.history(Agent, "ghost")


def test_history_is_kept_per_kind(backend: Backend) -> None:
    backend.create(agent("notes"))
    backend.create(skill("notes"))

    assert [e.spec.resource_kind for e in backend.history(Skill, "notes")] == ["Skill"]


def test_rollback_writes_a_new_version_equal_to_the_old_one(backend: Backend) -> None:
    _write_three_versions(backend)

    restored = backend.rollback(Agent, "bot", 1)

    assert restored.metadata.version == 4
    assert restored.spec.instructions == "one"
    assert dict(restored.metadata.labels) == {}
    assert backend.get(Agent, "bot") == restored
    entries = backend.history(Agent, "bot")
    assert [e.spec.operation for e in entries] == ["create", "update", "update", "rollback"]
    assert _snapshot(entries[3])["spec"] == _snapshot(entries[0])["spec"]


def test_a_rolled_back_resource_applies_unchanged_from_the_old_file(backend: Backend) -> None:
    _write_three_versions(backend)
    backend.rollback(Agent, "bot", 1)

    [outcome] = backend.apply([agent("bot", "one")])

    assert outcome.action == "unchanged"


def test_rollback_keeps_the_default_instance(backend: Backend) -> None:
    _write_three_versions(backend)
    instance_id = backend.get(Agent, "bot").status.default_instance_id

    assert backend.rollback(Agent, "bot", 2).status.default_instance_id == instance_id


def test_rollback_to_a_missing_version_is_not_found_and_writes_nothing(backend: Backend) -> None:
    _write_three_versions(backend)
    before = counts(backend)

    with pytest.raises(NotFound, match="no version 9") as err:
        backend.rollback(Agent, "bot", 9)

    assert "1, 2, 3" in err.value.hint
    assert counts(backend) == before
    assert backend.get(Agent, "bot").metadata.version == 3


def test_rollback_of_a_missing_resource_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFound):
        backend.rollback(Agent, "ghost", 1)
