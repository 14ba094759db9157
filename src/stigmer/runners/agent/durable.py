"""Durable steps: each model turn and tool call is recorded once and replayed on resume.

A step is keyed by (execution, step number). Before running a step the runner asks for
the recorded one at that position: a recorded step returns its result without running
again; a different name at the same position means the agent changed under a run in
flight, which is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.backend.protocol import RunJournal
from stigmer.errors import Conflict
from stigmer.resources.steps import COMPLETED, WAITING


class NonDeterminism(Conflict):
    """A resumed run asked for a different step than the one on record."""


class DurableSteps:
    """The step cursor of one run: replays what is recorded, records what is new."""

    def __init__(
        self,
        backend: RunJournal,
        execution_id: str,
        worker_id: str,
        recorded: list[ExecutionStep],
        clock: Callable[[], datetime],
        *,
        redact: Callable[[Any], Any] = lambda value: value,
    ) -> None:
        self.backend = backend
        self.redact = redact
        self.execution_id = execution_id
        self.worker_id = worker_id
        self.recorded = {s.step: s for s in recorded}
        self.position = 0
        self.clock = clock

    @property
    def replaying(self) -> bool:
        """Whether steps ahead of the cursor are on record."""
        return self.position < len(self.recorded)

    def next(self, name: str) -> ExecutionStep | None:
        """Advance to the next step; its record when there is one.

        Raises:
            NonDeterminism: The record holds a different step here.
        """
        self.position += 1
        step = self.recorded.get(self.position)
        if step is not None and step.name != name:
            raise NonDeterminism(
                f"execution {self.execution_id}: step {self.position} on record is {step.name!r}, "
                f"but the run now asks for {name!r}",
                hint="the agent or its model script changed while this run was in flight; "
                "start a new execution",
            )
        return step

    def record(
        self,
        name: str,
        *,
        input: dict[str, Any],
        output: dict[str, Any],
        started: datetime,
        status: str = COMPLETED,
        error: str = "",
    ) -> ExecutionStep:
        """Write the step at the cursor (after :meth:`next` returned None for it), secrets masked."""
        step = ExecutionStep(
            execution_id=self.execution_id,
            step=self.position,
            name=name,
            status=status,
            error=self.redact(error),
        )
        step.input.update(self.redact(input))
        step.output.update(self.redact(output))
        step.start_time.FromDatetime(started)
        if status != WAITING:
            step.end_time.FromDatetime(self.clock())
        written = self.backend.record_step(step, worker_id=self.worker_id)
        self.recorded[self.position] = written
        return written


def reuse_steps(backend: RunJournal, execution: AgentExecution, worker_id: str) -> list[ExecutionStep]:
    """A retry begins with the steps of the run it retries: every step up to the first one that
    did not complete (a tool call cut short, an approval still open) is copied into its journal,
    marked ``reusedFrom``, and replayed rather than run again. The copies, as recorded."""
    source = execution.spec.retry_of
    copied: list[ExecutionStep] = []
    for step in backend.list_steps(source):
        if step.status != COMPLETED:
            break
        copy = ExecutionStep()
        copy.CopyFrom(step)
        copy.execution_id = execution.metadata.id
        copy.output["reusedFrom"] = source
        copied.append(backend.record_step(copy, worker_id=worker_id))
    return copied


__all__ = ["DurableSteps", "NonDeterminism", "reuse_steps"]
