"""Leases as engines use them: the queue holds top-level runs, an engine (``engine:NAME``)
holds a run until it ends and is told of approvals and cancels by finding it queued again,
and steps appended by several writers get the next numbers."""

from __future__ import annotations

import pytest

from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import Backend
from stigmer.errors import Conflict
from stigmer.resources.steps import WAITING
from stigmer.store.leases import ENGINE_LEASE_SECONDS
from tests.builders import workflow, workflow_execution

P = ExecutionPhase
ENGINE = "engine:test"
LOCAL = "host:1:local"


@pytest.fixture
def flow(backend: Backend) -> str:
    backend.apply([workflow("flow", [{"name": "a", "set": {"x": 1}}])])
    return "flow"


def _start(backend: Backend, flow: str, parent: str = "") -> str:
    request = workflow_execution(flow)
    if parent:
        request.spec.parent_execution_id = parent
    return backend.create_execution(request).metadata.id


def _hold(backend: Backend, execution_id: str) -> WorkflowExecution:
    claimed = backend.claim_execution(ENGINE, execution_id=execution_id, lease_seconds=ENGINE_LEASE_SECONDS)
    assert isinstance(claimed, WorkflowExecution)
    return claimed


def _step(execution_id: str, name: str, status: str = "completed") -> ExecutionStep:
    return ExecutionStep(execution_id=execution_id, step=0, name=name, status=status)


def test_the_queue_holds_top_level_runs_and_a_child_is_claimed_by_id(backend: Backend, flow: str) -> None:
    parent = _start(backend, flow)
    child = _start(backend, flow, parent=parent)
    first = backend.claim_execution(LOCAL)
    assert first is not None and first.metadata.id == parent
    assert backend.claim_execution(LOCAL) is None  # the child waits for its parent to claim it
    by_id = backend.claim_execution(LOCAL, execution_id=child)
    assert by_id is not None and by_id.status.phase == P.RUNNING


def test_an_engine_holds_a_run_through_its_approval_and_is_told_of_the_decision(
    backend: Backend, flow: str
) -> None:
    execution_id = _start(backend, flow)
    held = _hold(backend, execution_id)
    # Nobody else takes it, by id or from the queue, while the engine holds it.
    assert backend.claim_execution(LOCAL) is None
    assert backend.claim_execution(LOCAL, execution_id=execution_id) is None
    backend.record_step(_step(execution_id, "approval:ok", WAITING), worker_id=ENGINE)
    held.status.phase = P.WAITING_APPROVAL
    backend.update_execution_status(held, worker_id=ENGINE)
    backend.resolve_approval(execution_id, approved=True)
    assert backend.get_execution(execution_id).status.phase == P.PENDING
    assert backend.claim_execution(LOCAL) is None  # queued again, for the engine that holds it
    again = backend.claim_execution(ENGINE, lease_seconds=ENGINE_LEASE_SECONDS)
    assert again is not None and again.metadata.id == execution_id
    assert again.status.phase == P.RUNNING
    # Its writes go on under the same lease.
    again.status.phase = P.COMPLETED
    assert backend.update_execution_status(again, worker_id=ENGINE).status.phase == P.COMPLETED


def test_a_decision_while_an_engine_runs_the_run_queues_it_again(backend: Backend, flow: str) -> None:
    execution_id = _start(backend, flow)
    _hold(backend, execution_id)
    backend.record_step(_step(execution_id, "approval:ok", WAITING), worker_id=ENGINE)
    backend.resolve_approval(execution_id, approved=False, reason="no")
    assert backend.get_execution(execution_id).status.phase == P.PENDING
    again = backend.claim_execution(ENGINE, lease_seconds=ENGINE_LEASE_SECONDS)
    assert again is not None and again.metadata.id == execution_id


def test_cancelling_a_run_an_engine_holds_queues_it_for_the_engine(backend: Backend, flow: str) -> None:
    execution_id = _start(backend, flow)
    held = _hold(backend, execution_id)
    held.status.phase = P.WAITING_APPROVAL
    backend.update_execution_status(held, worker_id=ENGINE)
    asked = backend.cancel_execution(execution_id)
    # The engine ends it (and its children): the store only records the request.
    assert asked.status.phase == P.PENDING and asked.status.cancel_requested
    again = backend.claim_execution(ENGINE, lease_seconds=ENGINE_LEASE_SECONDS)
    assert again is not None and again.status.cancel_requested
    again.status.phase = P.CANCELLED
    backend.update_execution_status(again, worker_id=ENGINE)
    with pytest.raises(Conflict):
        backend.cancel_execution(execution_id)


def test_steps_appended_by_several_writers_get_the_next_numbers(backend: Backend, flow: str) -> None:
    execution_id = _start(backend, flow)
    _hold(backend, execution_id)
    numbers = [backend.record_step(_step(execution_id, f"end:t{i}"), worker_id=ENGINE).step for i in range(3)]
    assert numbers == [1, 2, 3]
    waiting = backend.record_step(_step(execution_id, "approval:t3", WAITING), worker_id=ENGINE)
    # A waiting step is completed in place, by its number.
    done = ExecutionStep(execution_id=execution_id, step=waiting.step, name="approval:t3", status="completed")
    backend.record_step(done, worker_id=ENGINE)
    assert [(s.step, s.name, s.status) for s in backend.list_steps(execution_id)][-1] == (
        4,
        "approval:t3",
        "completed",
    )
