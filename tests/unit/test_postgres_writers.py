"""Writers on PostgreSQL run in parallel and stay exact: a write of one resource does not wait
for a write of another, racing writers of one name agree, racing claimers take each run once,
and an exclusive writer (admin work) runs alone."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.backend.local import LocalBackend
from stigmer.backend.runs import new_agent_execution
from stigmer.secrets.keys import MasterKeys
from tests.builders import agent, skill

RACERS = 8


@pytest.fixture
def backends(postgres_url: str, tmp_path: Path) -> Iterator[list[LocalBackend]]:
    """Several backends on one database, as several servers' would be."""
    opened = [LocalBackend.open(postgres_url, keys=MasterKeys(tmp_path)) for _ in range(RACERS)]
    try:
        yield opened
    finally:
        for backend in opened:
            backend.close()


def _at_once(work: list[Callable[[], Any]]) -> list[Any]:
    """Run each callable on its own thread, released together; their results (or errors)."""
    start = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work[i]()
        except Exception as exc:  # the test looks at it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_a_write_of_one_resource_does_not_wait_for_a_write_of_another(backends: list[LocalBackend]) -> None:
    first, second = backends[0], backends[1]
    first.create(skill("held"))
    first.create(skill("free"))
    holding, release, done = threading.Event(), threading.Event(), threading.Event()

    def hold_a_write_open() -> None:
        with first.db.write() as conn:
            conn.execute("UPDATE skills SET name = name WHERE slug = 'held'")
            holding.set()
            release.wait(60)

    holder = threading.Thread(target=hold_a_write_open)
    holder.start()
    try:
        assert holding.wait(30)

        def update_free() -> None:
            free = second.get(Skill, "free")
            free.spec.content = "# Changed"
            second.update(free)
            done.set()

        writer = threading.Thread(target=update_free)
        writer.start()
        # Under one global write lock this would wait for the held transaction (30 s, then fail).
        assert done.wait(20), "a write of another resource waited for the open transaction"
        writer.join()
    finally:
        release.set()
        holder.join()
    assert second.get(Skill, "free").metadata.version == 2


def test_racing_applies_of_one_new_resource_agree(backends: list[LocalBackend]) -> None:
    results = _at_once([partial(b.apply, [skill("shared", "# Same")]) for b in backends])

    outcomes = sorted(r[0].action for r in results)
    assert outcomes == ["created"] + ["unchanged"] * (RACERS - 1), results
    assert [v.spec.version for v in backends[0].history(Skill, "shared")] == [1]


def test_racing_creates_of_one_name_make_one_and_tell_the_others(backends: list[LocalBackend]) -> None:
    results = _at_once([partial(b.create, skill("taken", f"# {n}")) for n, b in enumerate(backends)])

    made = [r for r in results if isinstance(r, Skill)]
    refused = [r for r in results if not isinstance(r, Skill)]
    assert len(made) == 1, results
    assert all("already exists" in str(r) for r in refused), refused
    assert backends[0].get(Skill, "taken").metadata.version == 1


def test_racing_claimers_take_each_queued_run_once(backends: list[LocalBackend]) -> None:
    backends[0].apply([agent("a")])
    queued = {new_agent_execution(backends[0], "a", f"run {i}").metadata.id for i in range(3 * RACERS)}

    def claim_all(backend: LocalBackend, worker: str) -> list[str]:
        taken = []
        while (run := backend.claim_execution(worker, lease_seconds=300)) is not None:
            taken.append(run.metadata.id)
        return taken

    results = _at_once([partial(claim_all, b, f"w{n}") for n, b in enumerate(backends)])

    taken = [run for claimed in results for run in claimed]
    assert sorted(taken) == sorted(queued), results  # every run, each by one claimer


def test_an_exclusive_writer_waits_for_writers_in_flight(backends: list[LocalBackend]) -> None:
    first, second = backends[0], backends[1]
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def hold_a_write_open() -> None:
        with first.db.write():
            holding.set()
            release.wait(60)
            order.append("writer")

    def exclusive() -> None:
        with second.db.write(exclusive=True):
            order.append("exclusive")

    holder = threading.Thread(target=hold_a_write_open)
    holder.start()
    assert holding.wait(30)
    admin = threading.Thread(target=exclusive)
    admin.start()
    admin.join(1)  # it waits: the writer has not finished
    release.set()
    holder.join()
    admin.join(30)
    assert order == ["writer", "exclusive"]
