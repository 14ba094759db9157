"""Pruning: finished runs older than a cutoff go, with everything that belongs to them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import stigmer.backend.local as local_backend
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import Backend
from stigmer.errors import InvalidArgument, NotFound
from stigmer.resources.kinds import Execution
from tests.builders import agent, agent_execution, counts, workflow, workflow_execution
from tests.clock import FakeClock
from tests.server.embedded import stored_rows

RUNNING, WAITING, COMPLETED, FAILED, CANCELLED = (
    ExecutionPhase.RUNNING,
    ExecutionPhase.WAITING_APPROVAL,
    ExecutionPhase.COMPLETED,
    ExecutionPhase.FAILED,
    ExecutionPhase.CANCELLED,
)
DAY = 86400
WORKER = "worker-1"


@pytest.fixture(autouse=True)
def _definitions(backend: Backend) -> None:
    backend.apply([agent("bot"), workflow("nightly")])


def _run(backend: Backend, phase: ExecutionPhase.ValueType | None = None, *, parent: str = "") -> str:
    """A run of bot, claimed and moved to ``phase`` (None: left PENDING), with one step."""
    created = backend.create_execution(agent_execution("bot", **_parent(parent)))
    return _move(backend, created, phase)


def _workflow_run(
    backend: Backend, phase: ExecutionPhase.ValueType | None = None, *, parent: str = ""
) -> str:
    return _move(backend, backend.create_execution(workflow_execution("nightly", **_parent(parent))), phase)


def _parent(parent_id: str) -> dict[str, Any]:
    return {"parentExecutionId": parent_id} if parent_id else {}


def _move(backend: Backend, created: Execution, phase: ExecutionPhase.ValueType | None) -> str:
    execution_id = created.metadata.id
    if phase is None:
        return execution_id
    claimed = backend.claim_execution(WORKER, execution_id=execution_id)
    assert claimed is not None
    backend.record_step(ExecutionStep(execution_id=execution_id, step=1, name="model"), worker_id=WORKER)
    if phase != RUNNING:
        claimed.status.phase = phase
        backend.update_execution_status(claimed, worker_id=WORKER)
    return execution_id


def _exists(backend: Backend, execution_id: str) -> bool:
    try:
        backend.get_execution(execution_id)
    except NotFound:
        return False
    return True


def _rows(backend: Backend, table: str, execution_id: str) -> int:
    with stored_rows(backend) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table} WHERE execution_id = ?", (execution_id,)).fetchone()
    return int(row[0])


def test_old_finished_runs_go_with_their_steps_artifacts_and_history(
    backend: Backend, clock: FakeClock
) -> None:
    done, failed, cancelled = _run(backend, COMPLETED), _workflow_run(backend, FAILED), _run(backend)
    backend.cancel_execution(cancelled)
    report = backend.store_artifact(b"report", name="report.txt", execution_id=done)
    loose = backend.store_artifact(b"no run", name="loose.txt")
    running, waiting, pending = _run(backend, RUNNING), _run(backend, WAITING), _run(backend)
    clock.advance(timedelta(days=40))
    recent = _run(backend, COMPLETED)
    assert len(backend.history(AgentExecution, done)) == 1

    result = backend.prune_executions(30 * DAY)

    assert dict(result.deleted) == {"AgentExecution": 2, "WorkflowExecution": 1}
    assert set(result.execution_ids) == {done, failed, cancelled}
    assert (result.steps, result.artifacts, result.kept, result.dry_run) == (2, 1, 0, False)
    for gone in (done, failed, cancelled):
        assert not _exists(backend, gone)
        assert backend.list_steps(gone) == []
        assert _rows(backend, "execution_steps", gone) == 0
        with pytest.raises(NotFound):
            backend.history(AgentExecution if gone.startswith("aex_") else WorkflowExecution, gone)
    with pytest.raises(NotFound):
        backend.get_artifact(report.id)
    assert backend.get_artifact(loose.id).data == b"no run"
    for kept in (running, waiting, pending, recent):
        assert _exists(backend, kept)
    assert len(backend.list_steps(running)) == 1
    assert _rows(backend, "execution_contexts", running) == 1


def test_the_cutoff_is_when_a_run_finished_not_when_it_started(backend: Backend, clock: FakeClock) -> None:
    started_long_ago = _run(backend, RUNNING)
    clock.advance(timedelta(days=40))
    claimed = backend.get_execution(started_long_ago)
    claimed.status.phase = COMPLETED
    backend.update_execution_status(claimed, worker_id=WORKER)

    assert sum(backend.prune_executions(30 * DAY).deleted.values()) == 0
    clock.advance(timedelta(days=31))
    assert list(backend.prune_executions(30 * DAY).execution_ids) == [started_long_ago]


def test_a_dry_run_reports_what_would_go_and_deletes_nothing(backend: Backend, clock: FakeClock) -> None:
    done = _run(backend, COMPLETED)
    backend.store_artifact(b"report", name="report.txt", execution_id=done)
    child = _run(backend, FAILED, parent=done)
    _run(backend, RUNNING)
    clock.advance(timedelta(days=40))
    before = counts(backend)

    preview = backend.prune_executions(30 * DAY, dry_run=True)

    assert counts(backend) == before
    assert (_exists(backend, done), _exists(backend, child)) == (True, True)
    assert preview.dry_run
    assert list(preview.execution_ids) == [done, child]
    assert (dict(preview.deleted), preview.steps, preview.artifacts) == ({"AgentExecution": 2}, 2, 1)

    pruned = backend.prune_executions(30 * DAY)

    assert (list(pruned.execution_ids), dict(pruned.deleted)) == (
        list(preview.execution_ids),
        dict(preview.deleted),
    )
    assert (pruned.steps, pruned.artifacts) == (preview.steps, preview.artifacts)


def test_finished_children_go_with_their_parent(backend: Backend, clock: FakeClock) -> None:
    parent = _workflow_run(backend, RUNNING)
    child = _run(backend, COMPLETED, parent=parent)
    grandchild = _run(backend, CANCELLED, parent=child)
    sub_workflow = _workflow_run(backend, FAILED, parent=parent)
    claimed = backend.get_execution(parent)
    claimed.status.phase = COMPLETED
    backend.update_execution_status(claimed, worker_id=WORKER)
    clock.advance(timedelta(days=40))

    result = backend.prune_executions(30 * DAY)

    assert dict(result.deleted) == {"AgentExecution": 2, "WorkflowExecution": 2}
    assert set(result.execution_ids) == {parent, child, grandchild, sub_workflow}
    assert result.steps == 4
    assert not any(_exists(backend, i) for i in (parent, child, grandchild, sub_workflow))


def test_an_old_child_stays_while_its_parent_is_recent(backend: Backend, clock: FakeClock) -> None:
    parent = _workflow_run(backend, RUNNING)
    child = _run(backend, COMPLETED, parent=parent)
    clock.advance(timedelta(days=40))
    claimed = backend.get_execution(parent)
    claimed.status.phase = COMPLETED
    backend.update_execution_status(claimed, worker_id=WORKER)

    result = backend.prune_executions(30 * DAY)

    assert sum(result.deleted.values()) == 0
    assert _exists(backend, child)


def test_a_parent_whose_child_has_not_finished_stays_until_it_has(backend: Backend, clock: FakeClock) -> None:
    parent = _workflow_run(backend, RUNNING)
    finished_child = _run(backend, COMPLETED, parent=parent)
    running_grandchild = _run(backend, RUNNING, parent=finished_child)
    claimed = backend.get_execution(parent)
    claimed.status.phase = FAILED
    backend.update_execution_status(claimed, worker_id=WORKER)
    clock.advance(timedelta(days=40))

    held = backend.prune_executions(30 * DAY)

    assert (sum(held.deleted.values()), held.kept) == (0, 1)
    assert all(_exists(backend, i) for i in (parent, finished_child, running_grandchild))

    grandchild = backend.get_execution(running_grandchild)
    grandchild.status.phase = COMPLETED
    backend.update_execution_status(grandchild, worker_id=WORKER)
    released = backend.prune_executions(30 * DAY)

    assert set(released.execution_ids) == {parent, finished_child, running_grandchild}
    assert released.kept == 0


def test_kind_selects_the_top_level_runs(backend: Backend, clock: FakeClock) -> None:
    flow = _workflow_run(backend, COMPLETED)
    agent_run = _run(backend, COMPLETED)
    clock.advance(timedelta(days=40))

    result = backend.prune_executions(30 * DAY, kind="WorkflowExecution")

    assert list(result.execution_ids) == [flow]
    assert _exists(backend, agent_run)


def test_a_prune_of_many_batches_takes_every_one(
    backend: Backend, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_backend, "PRUNE_BATCH", 2)  # the server is in this process too
    parent = _workflow_run(backend, COMPLETED)
    old = [_run(backend, COMPLETED) for _ in range(4)] + [_run(backend, FAILED, parent=parent)]
    held = _workflow_run(backend, COMPLETED)
    _run(backend, RUNNING, parent=held)
    clock.advance(timedelta(days=40))

    result = backend.prune_executions(30 * DAY)

    assert set(result.execution_ids) == {parent, *old}
    assert (result.kept, not result.ids_truncated) == (1, True)
    assert _exists(backend, held)


@pytest.mark.parametrize("seconds", [0, -5])
def test_the_age_must_be_positive(backend: Backend, seconds: int) -> None:
    done = _run(backend, COMPLETED)

    with pytest.raises(InvalidArgument) as err:
        backend.prune_executions(seconds)

    assert err.value.field == "older_than_seconds"
    assert _exists(backend, done)


def test_kind_must_be_an_execution_kind(backend: Backend) -> None:
    with pytest.raises(InvalidArgument) as err:
        backend.prune_executions(DAY, kind="Agent")

    assert err.value.field == "kind"
