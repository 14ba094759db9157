"""Watching an execution: steps and phase changes in order, resumable after any sequence."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import ExecutionEvent, ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.protocol import Backend
from stigmer.backend.wire import unpack_execution
from stigmer.errors import NotFound
from tests.builders import agent, agent_execution

WORKER = "conformance-worker"


def _step(
    execution_id: str, number: int, name: str, status: str = "completed", **output: Any
) -> ExecutionStep:
    step = ExecutionStep(execution_id=execution_id, step=number, name=name, status=status)
    step.output.update(output)
    return step


def _claimed(backend: Backend) -> AgentExecution:
    backend.apply([agent("bot")])
    created = backend.create_execution(agent_execution("bot"))
    claimed = backend.claim_execution(WORKER, execution_id=created.metadata.id)
    assert isinstance(claimed, AgentExecution)
    return claimed


def _finish(backend: Backend, execution: AgentExecution) -> None:
    current = backend.get_execution(execution.metadata.id)
    current.status.phase = ExecutionPhase.COMPLETED
    backend.update_execution_status(current, worker_id=WORKER)


def _finished_run(backend: Backend) -> str:
    run = _claimed(backend)
    execution_id = run.metadata.id
    backend.record_step(_step(execution_id, 1, "model", text="", toolCalls=[]), worker_id=WORKER)
    backend.record_step(_step(execution_id, 2, "tool:find_order", text="shipped"), worker_id=WORKER)
    backend.record_step(_step(execution_id, 3, "model", text="It shipped."), worker_id=WORKER)
    _finish(backend, run)
    return execution_id


def _describe(event: ExecutionEvent) -> tuple[str, str]:
    if event.HasField("step"):
        return (f"step {event.step.step} {event.step.name}", event.step.status)
    return ("phase", ExecutionPhase.Name(unpack_execution(event.execution).status.phase))


def test_a_finished_execution_streams_its_steps_then_its_phase(backend: Backend) -> None:
    execution_id = _finished_run(backend)

    events = list(backend.watch_execution(execution_id))

    assert [_describe(e) for e in events] == [
        ("step 1 model", "completed"),
        ("step 2 tool:find_order", "completed"),
        ("step 3 model", "completed"),
        ("phase", "COMPLETED"),
    ]
    sequences = [e.sequence for e in events]
    assert sequences == sorted(set(sequences))
    assert unpack_execution(events[-1].execution).metadata.id == execution_id


def test_a_watch_resumes_after_any_sequence_without_gap_or_duplicate(backend: Backend) -> None:
    execution_id = _finished_run(backend)
    events = list(backend.watch_execution(execution_id))

    for i, event in enumerate(events):
        rest = list(backend.watch_execution(execution_id, after_sequence=event.sequence))
        assert rest == events[i + 1 :], i


def test_watching_a_missing_execution_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFound):
        backend.watch_execution("aex_00000000000000000000000000")


def _until(
    events: Iterator[ExecutionEvent], seen: list[ExecutionEvent], done: Callable[[ExecutionEvent], bool]
) -> None:
    for event in events:
        seen.append(event)
        if done(event):
            return
    raise AssertionError(f"the stream ended before the expected event: {[_describe(e) for e in seen]}")


def test_a_live_watch_sees_each_step_once_and_a_waiting_step_again_when_it_completes(
    backend: Backend,
) -> None:
    run = _claimed(backend)
    execution_id = run.metadata.id
    seen: list[ExecutionEvent] = []
    events = backend.watch_execution(execution_id)

    backend.record_step(_step(execution_id, 1, "model", text="Let me refund it."), worker_id=WORKER)
    _until(events, seen, lambda e: e.step.step == 1)
    backend.record_step(_step(execution_id, 2, "approval:refund", status="waiting"), worker_id=WORKER)
    waiting = backend.get_execution(execution_id)
    waiting.status.phase = ExecutionPhase.WAITING_APPROVAL
    backend.update_execution_status(waiting, worker_id=WORKER)
    _until(events, seen, lambda e: _describe(e) == ("phase", "WAITING_APPROVAL"))
    # A client that drops its stream and comes back after the last event it got.
    events.close()
    events = backend.watch_execution(execution_id, after_sequence=seen[-1].sequence)
    backend.resolve_approval(execution_id, approved=True)
    _until(events, seen, lambda e: e.step.step == 2 and e.step.status == "completed")
    resumed = backend.claim_execution(WORKER, execution_id=execution_id)
    assert resumed is not None
    backend.record_step(_step(execution_id, 3, "tool:refund", text="refunded"), worker_id=WORKER)
    backend.record_step(_step(execution_id, 4, "model", text="Done."), worker_id=WORKER)
    _finish(backend, run)
    seen.extend(events)

    steps = [_describe(e) for e in seen if e.HasField("step")]
    assert steps == [
        ("step 1 model", "completed"),
        ("step 2 approval:refund", "waiting"),
        ("step 2 approval:refund", "completed"),
        ("step 3 tool:refund", "completed"),
        ("step 4 model", "completed"),
    ]
    phases = [name for kind, name in map(_describe, seen) if kind == "phase"]
    assert "WAITING_APPROVAL" in phases and phases[-1] == "COMPLETED"
    assert [a for a, b in itertools.pairwise(phases) if a == b] == []
    sequences = [e.sequence for e in seen]
    assert sequences == sorted(set(sequences))
