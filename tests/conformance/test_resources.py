"""Create, get, update and delete one resource: names, slugs, ids and optimistic concurrency."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.backend.protocol import Backend
from stigmer.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from tests.builders import agent, counts, skill
from tests.clock import FakeClock


def test_create_assigns_an_id_a_slug_and_version_one(backend: Backend) -> None:
    created = backend.create(agent("Support Bot", "You answer customer questions."))

    assert created.metadata.id.startswith("agt_")
    assert created.metadata.name == "Support Bot"
    assert created.metadata.slug == "support-bot"
    assert created.metadata.version == 1
    assert created.metadata.create_time == created.metadata.update_time
    assert created.spec.instructions == "You answer customer questions."
    assert (created.api_version, created.kind) == ("agentic.stigmer.ai/v1", "Agent")


def test_times_come_from_the_backend_clock(backend: Backend, clock: FakeClock) -> None:
    clock.advance(timedelta(days=400))
    before = clock.now

    created = backend.create(skill("notes"))

    assert before < created.metadata.create_time.ToDatetime(tzinfo=UTC) <= clock.now


def test_get_finds_a_resource_by_id_by_name_and_by_slug(backend: Backend) -> None:
    created = backend.create(agent("Support Bot"))

    for ref in (created.metadata.id, "Support Bot", "support-bot", "SUPPORT BOT"):
        assert backend.get(Agent, ref) == created, ref


def test_labels_annotations_and_tags_are_kept(backend: Backend) -> None:
    notes = skill("notes", labels={"team": "cs", "stigmer.ai/owner": "ana"})
    notes.metadata.annotations["note"] = "from the wiki"
    notes.metadata.tags.extend(["faq", "policy"])
    backend.create(notes)

    stored = backend.get(Skill, "notes")
    assert dict(stored.metadata.labels) == {"team": "cs", "stigmer.ai/owner": "ana"}
    assert dict(stored.metadata.annotations) == {"note": "from the wiki"}
    assert list(stored.metadata.tags) == ["faq", "policy"]


@pytest.mark.parametrize(
    "second", ["Support Bot", "support bot", "Support  Bot", "support-bot", "SUPPORT_BOT"]
)
def test_a_name_with_the_same_slug_already_exists(backend: Backend, second: str) -> None:
    first = backend.create(agent("Support Bot", "first"))

    with pytest.raises(AlreadyExists, match="already exists") as err:
        backend.create(agent(second, "second"))

    assert err.value.hint
    assert counts(backend)["Agent"] == 1
    assert backend.get(Agent, "support-bot") == first


def test_the_same_name_in_another_kind_is_another_resource(backend: Backend) -> None:
    backend.create(agent("notes"))
    backend.create(skill("notes"))

    assert backend.get(Agent, "notes").metadata.id != backend.get(Skill, "notes").metadata.id


def test_get_of_a_missing_resource_is_not_found_with_a_hint(backend: Backend) -> None:
    with pytest.raises(NotFound) as err:
        backend.get(Agent, "ghost")

    assert "ghost" in str(err.value)
    assert "Agent" in str(err.value)
    assert "stigmer get agents" in err.value.hint


def test_an_id_of_another_kind_finds_nothing(backend: Backend) -> None:
    notes = backend.create(skill("notes"))

    with pytest.raises(NotFound):
        backend.get(Agent, notes.metadata.id)


def test_update_with_the_current_version_writes_the_next_one(backend: Backend) -> None:
    created = backend.create(agent("bot", "version one"))
    created.spec.instructions = "version two"

    updated = backend.update(created)

    assert updated.metadata.version == 2
    assert updated.metadata.id == created.metadata.id
    assert updated.metadata.create_time == created.metadata.create_time
    assert updated.metadata.update_time.ToDatetime() > created.metadata.update_time.ToDatetime()
    assert backend.get(Agent, "bot") == updated
    assert backend.get(Agent, "bot").spec.instructions == "version two"


def test_update_with_a_stale_version_conflicts_and_writes_nothing(backend: Backend) -> None:
    created = backend.create(agent("bot", "original"))
    theirs, mine = Agent(), Agent()
    theirs.CopyFrom(created)
    mine.CopyFrom(created)
    theirs.spec.instructions = "their change"
    backend.update(theirs)

    mine.spec.instructions = "my change"
    with pytest.raises(Conflict, match="version 1") as err:
        backend.update(mine)

    assert err.value.hint
    stored = backend.get(Agent, "bot")
    assert (stored.metadata.version, stored.spec.instructions) == (2, "their change")
    assert [v.spec.version for v in backend.history(Agent, "bot")] == [1, 2]


def test_update_without_a_version_is_invalid(backend: Backend) -> None:
    backend.create(agent("bot", "original"))

    with pytest.raises(InvalidArgument) as err:
        backend.update(agent("bot", "blind overwrite"))

    assert err.value.field == "metadata.version"
    assert backend.get(Agent, "bot").spec.instructions == "original"


def test_update_of_a_missing_resource_is_not_found(backend: Backend) -> None:
    ghost = agent("ghost")
    ghost.metadata.version = 1

    with pytest.raises(NotFound):
        backend.update(ghost)

    assert counts(backend)["Agent"] == 0


def test_update_can_rename_but_not_onto_a_taken_name(backend: Backend) -> None:
    bot = backend.create(agent("bot"))
    backend.create(agent("helper"))

    bot.metadata.name = "Helper"
    with pytest.raises(AlreadyExists):
        backend.update(bot)

    bot.metadata.name = "Chat Bot"
    renamed = backend.update(bot)
    assert (renamed.metadata.id, renamed.metadata.slug) == (bot.metadata.id, "chat-bot")
    assert backend.get(Agent, "chat-bot").metadata.id == bot.metadata.id
    with pytest.raises(NotFound):
        backend.get(Agent, "bot")


def test_delete_returns_the_resource_as_it_was_and_it_is_gone(backend: Backend) -> None:
    created = backend.create(skill("notes", "# Refunds"))

    deleted = backend.delete(Skill, "notes")

    assert deleted.metadata.id == created.metadata.id
    assert deleted.spec.content == "# Refunds"
    with pytest.raises(NotFound):
        backend.get(Skill, "notes")
    with pytest.raises(NotFound):
        backend.delete(Skill, "notes")
    assert counts(backend)["Skill"] == 0


def test_a_deleted_name_can_be_created_again_with_a_new_id(backend: Backend) -> None:
    first = backend.create(skill("notes"))
    backend.delete(Skill, first.metadata.id)

    second = backend.create(skill("notes"))

    assert second.metadata.id != first.metadata.id
    assert second.metadata.version == 1
