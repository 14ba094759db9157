"""Listing: slug order, opaque page tokens, label filters."""

from __future__ import annotations

import base64
import json
import random

import pytest

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.backend.protocol import Backend
from stigmer.errors import InvalidArgument
from tests.builders import agent, skill


def _all_pages(backend: Backend, page_size: int, labels: dict[str, str] | None = None) -> list[list[str]]:
    pages: list[list[str]] = []
    token = ""
    while True:
        page = backend.list(Skill, labels=labels, page_size=page_size, page_token=token)
        pages.append([s.metadata.name for s in page.items])
        token = page.next_page_token
        if not token:
            return pages


def test_an_empty_kind_lists_nothing(backend: Backend) -> None:
    page = backend.list(Agent)

    assert (page.items, page.next_page_token) == ([], "")


def test_list_is_ordered_by_slug(backend: Backend) -> None:
    backend.apply([skill("b-notes"), skill("Charlie"), skill("A Team"), skill("alpha")])

    assert [s.metadata.name for s in backend.list(Skill).items] == ["A Team", "alpha", "b-notes", "Charlie"]


def test_pages_cover_every_item_once(backend: Backend) -> None:
    names = [f"skill-{i:02d}" for i in range(25)]
    random.Random(7).shuffle(names)
    backend.apply([skill(n) for n in names])

    pages = _all_pages(backend, page_size=10)

    assert [len(p) for p in pages] == [10, 10, 5]
    assert [n for p in pages for n in p] == sorted(names)


def test_a_page_that_ends_exactly_at_the_end_has_no_token(backend: Backend) -> None:
    backend.apply([skill(f"skill-{i}") for i in range(4)])

    assert [len(p) for p in _all_pages(backend, page_size=2)] == [2, 2]


def test_items_written_between_pages_are_not_skipped(backend: Backend) -> None:
    backend.apply([skill(n) for n in ("a", "c", "e")])
    first = backend.list(Skill, page_size=2)

    backend.apply([skill("d")])
    rest = backend.list(Skill, page_size=2, page_token=first.next_page_token)

    assert [s.metadata.name for s in first.items] == ["a", "c"]
    assert [s.metadata.name for s in rest.items] == ["d", "e"]


def test_listed_items_show_their_references(backend: Backend) -> None:
    backend.apply([agent("bot", skills=["tone"])])

    [listed] = backend.list(Agent).items

    assert [(r.name, r.resolved) for r in listed.status.references] == [("tone", False)]


def test_labels_filter_and_must_all_match(backend: Backend) -> None:
    backend.apply(
        [
            skill("refunds", labels={"team": "cs", "tier": "gold"}),
            skill("returns", labels={"team": "cs"}),
            skill("deploys", labels={"team": "ops"}),
            skill("unlabelled"),
        ]
    )

    def names(labels: dict[str, str]) -> list[str]:
        return [s.metadata.name for s in backend.list(Skill, labels=labels).items]

    assert names({"team": "cs"}) == ["refunds", "returns"]
    assert names({"team": "cs", "tier": "gold"}) == ["refunds"]
    assert names({"team": "finance"}) == []
    assert names({}) == ["deploys", "refunds", "returns", "unlabelled"]


def test_label_filters_hold_across_pages(backend: Backend) -> None:
    backend.apply([skill(f"cs-{i}", labels={"team": "cs"}) for i in range(5)])
    backend.apply([skill(f"ops-{i}", labels={"team": "ops"}) for i in range(5)])

    pages = _all_pages(backend, page_size=2, labels={"team": "cs"})

    assert pages == [["cs-0", "cs-1"], ["cs-2", "cs-3"], ["cs-4"]]


def test_a_token_only_continues_the_listing_it_came_from(backend: Backend) -> None:
    backend.apply([skill(f"skill-{i}", labels={"team": "cs"}) for i in range(3)])
    backend.apply([agent(f"agent-{i}") for i in range(3)])
    token = backend.list(Skill, page_size=1).next_page_token
    filtered_token = backend.list(Skill, labels={"team": "cs"}, page_size=1).next_page_token

    with pytest.raises(InvalidArgument) as other_kind:
        backend.list(Agent, page_size=1, page_token=token)
    with pytest.raises(InvalidArgument):
        backend.list(Skill, labels={"team": "cs"}, page_size=1, page_token=token)
    with pytest.raises(InvalidArgument):
        backend.list(Skill, labels={"team": "ops"}, page_size=1, page_token=filtered_token)
    with pytest.raises(InvalidArgument):
        backend.list(Skill, page_size=1, page_token=filtered_token)

    assert other_kind.value.field == "page_token"
    assert other_kind.value.hint


def _b64(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "!!!not base64!!!",
        _b64([1, 2]),
        _b64({"p": ["skill-1"]}),
        _b64({"s": "Skill|[]", "p": "skill-1"}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_malformed_token_is_invalid(backend: Backend, token: str) -> None:
    backend.apply([skill(f"skill-{i}") for i in range(3)])

    with pytest.raises(InvalidArgument) as err:
        backend.list(Skill, page_size=1, page_token=token)

    assert err.value.field == "page_token"


def test_a_negative_page_size_is_invalid(backend: Backend) -> None:
    with pytest.raises(InvalidArgument):
        backend.list(Skill, page_size=-1)


def test_an_invalid_label_key_is_invalid(backend: Backend) -> None:
    with pytest.raises(InvalidArgument):
        backend.list(Skill, labels={"not a key": "x"})
