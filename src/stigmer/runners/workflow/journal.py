"""The journal of one workflow run: what each task did, read back on resume.

Every task attempt is written as append-only steps (see
:mod:`stigmer.resources.workflow_steps`) before the run moves on: a resumed run takes
each finished task's outcome from here and never runs it again; an attempt that was in
flight when its worker died is run again under the same attempt number (so an ``http``
task sends the same idempotency key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.backend.protocol import RunJournal
from stigmer.resources.steps import APPROVAL, COMPLETED, FAILED, WAITING, input_of, output_of
from stigmer.resources.workflow_steps import END, START

SUCCEEDED = "COMPLETED"


@dataclass
class Outcome:
    """How a task (or one forEach item) ended."""

    phase: str
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    code: str = ""
    # A failed task whose onError says `continue` does not fail the workflow.
    tolerated: bool = False

    @property
    def ok(self) -> bool:
        """Whether the workflow may go on past this task."""
        return self.phase in (SUCCEEDED, "SKIPPED") or self.tolerated


@dataclass
class Resume:
    """Where a task stands in the journal: the attempt to run next, and what is known of it."""

    attempt: int = 1
    # The start of an attempt that was in flight (its input: child id, timer end …).
    started: dict[str, Any] | None = None
    retry_at: str = ""


class Journal:
    """Reads and writes one run's task steps; all writes are fenced by the worker's lease."""

    def __init__(
        self,
        backend: RunJournal,
        execution_id: str,
        worker_id: str,
        steps: list[ExecutionStep],
        clock: Callable[[], datetime],
        redact: Callable[[Any], Any],
        *,
        append: bool = False,
    ) -> None:
        self.backend = backend
        # Several processes write this run's steps (the Temporal engine's activities): each
        # step is appended after the last one on record rather than numbered here.
        self.append = append
        self.execution_id = execution_id
        self.worker_id = worker_id
        self.clock = clock
        self.redact = redact
        self.next_step = max((s.step for s in steps), default=0) + 1
        self.starts: dict[str, ExecutionStep] = {}
        self.ends: dict[str, ExecutionStep] = {}
        self.approvals: dict[str, ExecutionStep] = {}
        self.unrecorded: dict[str, int] = {}
        for step in steps:
            kind, _, key = step.name.partition(":")
            kind += ":"
            if kind == START:
                self.starts[key] = step
            elif kind == END:
                self.ends[key] = step
            elif kind == APPROVAL:
                self.approvals[key] = step

    def outcome(self, key: str) -> Outcome | None:
        """The final outcome on record for ``key``; None while it has not finished."""
        end = self.ends.get(key)
        if end is None or _ended_before(end, self.starts.get(key)):
            return None
        out = output_of(end)
        if out.get("retryAt"):
            return None
        return Outcome(
            str(out.get("phase", SUCCEEDED)),
            dict(out.get("outputs") or {}),
            end.error,
            str(out.get("errorCode", "")),
            bool(out.get("tolerated", False)),
        )

    def resume(self, key: str) -> Resume:
        """The attempt a (not finished) task goes on with."""
        start, end = self.starts.get(key), self.ends.get(key)
        # An attempt may end without a recorded start (a python task's): its end says which.
        if end is not None and not _ended_before(end, start):
            retry_at = str(output_of(end).get("retryAt", ""))
            return Resume(int(input_of(end).get("attempt", 1)) + 1, None, retry_at)
        if start is None:
            return Resume()
        return Resume(int(input_of(start).get("attempt", 1)), input_of(start))

    def start(self, key: str, attempt: int, **extra: Any) -> None:
        """Record that an attempt begins."""
        self._write(START + key, {"attempt": attempt, **extra}, {}, COMPLETED, "", self.clock())

    def running(self, key: str, attempt: int) -> None:
        """Note, in this process only, that an attempt begins whose start is not recorded:
        a crash re-runs it; a run that stops records it CANCELLED (see :meth:`in_flight`)."""
        self.unrecorded[key] = attempt

    def in_flight(self) -> dict[str, int]:
        """Each attempt begun (recorded or not) and not ended: key -> attempt."""
        found = {key: attempt for key, attempt in self.unrecorded.items() if self.outcome(key) is None}
        for key in self.starts:
            if self.outcome(key) is None:
                found.setdefault(key, self.resume(key).attempt)
        return found

    def end(
        self,
        key: str,
        attempt: int,
        outcome: Outcome,
        *,
        started: datetime,
        retry_at: str = "",
        reused: str = "",
    ) -> None:
        """Record how an attempt ended (``retry_at``: it failed, and the next one is due then;
        ``reused``: the run whose recorded result this is, for a retry)."""
        output: dict[str, Any] = {"phase": outcome.phase, "outputs": outcome.outputs}
        if reused:
            output["reusedFrom"] = reused
        if outcome.code:
            output["errorCode"] = outcome.code
        if outcome.tolerated:
            output["tolerated"] = True
        if retry_at:
            output["retryAt"] = retry_at
        failed = outcome.phase == "FAILED"
        self._write(
            END + key, {"attempt": attempt}, output, FAILED if failed else COMPLETED, outcome.error, started
        )

    def ask_approval(self, key: str, request: dict[str, Any]) -> ExecutionStep:
        """Record an approval a person must decide (or return the one on record)."""
        if key not in self.approvals:
            self.approvals[key] = self._write(APPROVAL + key, request, {}, WAITING, "", self.clock())
        return self.approvals[key]

    def decide_approval(self, key: str, decision: dict[str, Any]) -> None:
        """Complete a waiting approval (a timeout decided it)."""
        step = ExecutionStep()
        step.CopyFrom(self.approvals[key])
        step.status = COMPLETED
        step.output.update(decision)
        step.end_time.FromDatetime(self.clock())
        self.approvals[key] = self.backend.record_step(step, worker_id=self.worker_id)

    def approval(self, key: str) -> ExecutionStep:
        """The approval step of ``key`` as stored now (a person may have decided it meanwhile)."""
        known = self.approvals[key]
        for step in self.backend.list_steps(self.execution_id, after=known.step - 1):
            if step.step == known.step:
                self.approvals[key] = step
                break
        return self.approvals[key]

    def _write(
        self,
        name: str,
        input: dict[str, Any],
        output: dict[str, Any],
        status: str,
        error: str,
        started: datetime,
    ) -> ExecutionStep:
        step = ExecutionStep(
            execution_id=self.execution_id,
            step=0 if self.append else self.next_step,
            name=name,
            status=status,
            error=self.redact(error),
        )
        self.next_step += 1
        step.input.update(self.redact(input))
        step.output.update(self.redact(output))
        step.start_time.FromDatetime(started)
        if status != WAITING:
            step.end_time.FromDatetime(self.clock())
        written = self.backend.record_step(step, worker_id=self.worker_id)
        self.next_step = max(self.next_step, written.step + 1)
        kind, _, key = name.partition(":")
        if kind + ":" == START:
            self.starts[key] = written
        elif kind + ":" == END:
            self.ends[key] = written
            self.unrecorded.pop(key, None)
        elif kind + ":" == APPROVAL:
            self.approvals[key] = written
        return written


def _ended_before(end: ExecutionStep, start: ExecutionStep | None) -> bool:
    """Whether ``end`` closes an earlier attempt than ``start`` (a retry is in flight)."""
    return start is not None and start.step > end.step


__all__ = ["SUCCEEDED", "Journal", "Outcome", "Resume"]
