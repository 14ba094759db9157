"""Artifacts (blobs addressed by id, hashed) and what a backend says about itself."""

from __future__ import annotations

import hashlib

import pytest

from stigmer.backend.protocol import Backend
from stigmer.errors import InvalidArgument, NotFound
from stigmer.resources.kinds import KINDS
from stigmer.store.migrations import LATEST
from tests.builders import agent, agent_execution, skill

REPORT = b"%PDF-1.7\n\x00\x01\xff binary, with a NUL\n"


def test_a_stored_artifact_has_its_hash_and_size(backend: Backend) -> None:
    stored = backend.store_artifact(REPORT, name="report.pdf", content_type="application/pdf")

    assert stored.id
    assert stored.sha256 == hashlib.sha256(REPORT).hexdigest()
    assert stored.size == len(REPORT)
    assert (stored.name, stored.content_type) == ("report.pdf", "application/pdf")


def test_an_artifact_reads_back_byte_for_byte(backend: Backend) -> None:
    backend.apply([agent("bot")])
    run = backend.create_execution(agent_execution("bot"))
    stored = backend.store_artifact(REPORT, name="report.pdf", execution_id=run.metadata.id)

    fetched = backend.get_artifact(stored.id)

    assert fetched.data == REPORT
    assert (fetched.sha256, fetched.size, fetched.execution_id) == (
        stored.sha256,
        len(REPORT),
        run.metadata.id,
    )
    assert fetched.content_type == "application/octet-stream"


def test_each_stored_artifact_is_its_own_record(backend: Backend) -> None:
    first = backend.store_artifact(b"same", name="a.txt")
    second = backend.store_artifact(b"same", name="b.txt")

    assert first.id != second.id
    assert backend.get_artifact(second.id).name == "b.txt"


def test_an_empty_artifact_is_kept(backend: Backend) -> None:
    stored = backend.store_artifact(b"", name="empty.txt")

    assert backend.get_artifact(stored.id).size == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()


def test_an_artifact_needs_a_name(backend: Backend) -> None:
    with pytest.raises(InvalidArgument):
        backend.store_artifact(REPORT, name="")


def test_a_missing_artifact_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFound, match="art_missing"):
        backend.get_artifact("art_missing")


def test_info_says_what_the_backend_is(backend: Backend, backend_type: str) -> None:
    info = backend.info()

    assert info.type == backend_type
    assert info.version
    assert info.schema_version == LATEST
    assert set(info.counts) == {k.kind for k in KINDS}
    assert set(info.counts.values()) == {0}


def test_info_counts_each_kind(backend: Backend) -> None:
    backend.apply([agent("bot"), agent("helper"), skill("notes")])
    backend.create_execution(agent_execution("bot"))

    counts = backend.info().counts

    assert (counts["Agent"], counts["AgentInstance"], counts["Skill"]) == (2, 2, 1)
    assert (counts["AgentExecution"], counts["Workflow"], counts["Environment"]) == (1, 0, 0)
