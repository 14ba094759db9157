"""Watching an execution: its steps and phase changes as events with resumable sequences.

The sequence of an event is computed from the stored record, never counted by the
watcher, so a client that reconnects (to the same server or to a restarted one) passes
the last sequence it got and sees every later event once:

- step ``n`` waiting: ``(2n - 1) << 20``; step ``n`` final (completed or failed): ``2n << 20``.
  An agent run writes its steps in order and completes a waiting step before the next
  one, so these only grow. A workflow's approval may be decided after later steps (its
  other branches go on): a watcher that reported it waiting reports its decision too,
  out of order; a client that reconnects after that decision sees the task's end step.
- a phase change: the step part of the last step before it, plus the execution's version
  (every status write bumps it), so it sorts after that step and before the next.

A watcher polls the backend; :class:`ExecutionWatch` is the state between polls, so the
synchronous loop here and the server's asynchronous one share it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Protocol

from stigmer.api.backend.v1.backend_pb2 import ExecutionEvent, ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.protocol import ExecutionReads
from stigmer.backend.wire import pack
from stigmer.resources.kinds import Execution
from stigmer.resources.steps import WAITING

STEP_SHIFT = 20
_VERSION_LIMIT = (1 << STEP_SHIFT) - 1
FINISHED = frozenset({ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED})
POLL_SECONDS = 0.2


def step_part(step: ExecutionStep) -> int:
    """A step's place in the event order: ``2n - 1`` while it waits, ``2n`` once final."""
    return 2 * step.step - (1 if step.status == WAITING else 0)


def step_sequence(step: ExecutionStep) -> int:
    """The sequence of the event that reports ``step`` in its current state."""
    return step_part(step) << STEP_SHIFT


def last_step_sequence(backend: ExecutionReads, execution_id: str) -> int:
    """The sequence of the last step on record now (0 without any): a watch from here shows
    only what happens next."""
    steps = backend.list_steps(execution_id)
    return step_sequence(steps[-1]) if steps else 0


class ExecutionWatch:
    """What a watcher of one execution has reported so far.

    Args:
        execution_id: The execution watched.
        after_sequence: Report only events after this one (a reconnecting client's last).
    """

    def __init__(self, execution_id: str, after_sequence: int = 0) -> None:
        self.execution_id = execution_id
        self.cursor = max(after_sequence, 0)
        # Steps up to here are final and reported; later ones (and a waiting one) are read again.
        self.final_steps = (self.cursor >> STEP_SHIFT) // 2
        self.phase: ExecutionPhase.ValueType | None = None
        self.finished = False
        # Steps reported while waiting: their end is reported too, even after later steps
        # (a workflow's approval is decided while its other branches go on).
        self.waiting: set[int] = set()
        # The record as the last poll read it (before its steps): a follower reads it here.
        self.execution: Execution | None = None

    def poll(self, backend: ExecutionReads) -> list[ExecutionEvent]:
        """The events since the last poll; sets :attr:`finished` once the execution is.

        The execution is read before its steps: a run writes its last step before its
        final status, so a finished execution's steps are all seen in the same poll.
        """
        execution = self.execution = backend.get_execution(self.execution_id)
        steps = backend.list_steps(self.execution_id, after=self.final_steps)
        events: list[ExecutionEvent] = []
        part = self.cursor >> STEP_SHIFT
        for step in steps:
            sequence = step_sequence(step)
            part = max(part, step_part(step))
            if sequence > self.cursor:
                events.append(ExecutionEvent(sequence=sequence, step=step))
                self.cursor = sequence
                if step.status == WAITING:
                    self.waiting.add(step.step)
            elif step.step in self.waiting and step.status != WAITING:
                events.append(ExecutionEvent(sequence=sequence, step=step))
            if step.status != WAITING:
                self.waiting.discard(step.step)
            if step.status != WAITING and step.step == self.final_steps + 1:
                self.final_steps = step.step
        phase = execution.status.phase
        sequence = (part << STEP_SHIFT) + min(execution.metadata.version, _VERSION_LIMIT)
        if phase != self.phase:
            # A resumed watch does not repeat a phase its client saw (its cursor is past it).
            if sequence > self.cursor:
                events.append(ExecutionEvent(sequence=sequence, execution=pack(execution)))
                self.cursor = sequence
            self.phase = phase
        self.finished = phase in FINISHED
        return events


class ChangeFeed(Protocol):
    """Who says when an execution changed, so a watcher need not wait for its next poll (on
    PostgreSQL, :class:`stigmer.store.postgres.ChangeListener`). A watcher still polls now and
    then: a feed wakes it sooner, it never replaces reading the record."""

    def subscribe(self, execution_id: str, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` (from any thread) when ``execution_id`` changes; returns the unsubscribe."""
        ...


def poll_events(
    backend: ExecutionReads,
    execution_id: str,
    *,
    after_sequence: int = 0,
    poll_seconds: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Generator[ExecutionEvent, None, None]:
    """Watch an execution by polling ``backend``, until it is finished."""
    watch = ExecutionWatch(execution_id, after_sequence)
    while True:
        yield from watch.poll(backend)
        if watch.finished:
            return
        sleep(poll_seconds)


__all__ = [
    "FINISHED",
    "POLL_SECONDS",
    "STEP_SHIFT",
    "ChangeFeed",
    "ExecutionWatch",
    "last_step_sequence",
    "poll_events",
    "step_sequence",
]
