"""The ``approval`` task: wait for a person (``stigmer execution approve|reject``).

Its request is journalled when it starts; a decision (or, after ``timeout``, what
``onTimeout`` says) ends it. Its outputs are ``{approved, reason, by}``; a rejection
fails it. While it waits only for a person, the run may park and hold no worker.
"""

from __future__ import annotations

from typing import Any

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.resources.codec import to_dict
from stigmer.resources.durations import parse_duration
from stigmer.resources.steps import WAITING, output_of, plain
from stigmer.runners.workflow.attempt import Attempt, Begun, Failure
from stigmer.runners.workflow.kinds.base import (
    Attempts,
    Fields,
    TaskCall,
    TaskError,
    TaskKind,
    Walk,
    deadline,
)
from stigmer.runners.workflow.kinds.registry import register


class ApprovalKind(TaskKind):
    """``approval: {message, timeout, onTimeout}``."""

    field = "approval"
    label = "approval"
    durable = True
    reads_journal = True  # a decision may be on record before the attempt begins

    def value_fields(self, task: Task) -> list[tuple[str, Any]]:
        return [("approval.message", task.approval.message)]

    async def begin(self, run: Attempts, call: Attempt, started: TaskCall, fields: Fields) -> Begun:
        approval = call.task.approval
        message = str(fields.value(approval.message, "approval.message") or "")
        run.record_start(started)
        request: dict[str, Any] = {"task": call.key, "message": message}
        if approval.timeout:
            request["until"] = deadline(run.now(), parse_duration(approval.timeout, field="approval.timeout"))
        step = run.journal.ask_approval(call.key, request)
        until = str(plain(to_dict(step.input)).get("until", "")) if step.HasField("input") else ""
        return Begun(self.field, until=until, decided=step.status != WAITING)

    async def wait(
        self, walk: Walk, call: Attempt, begun: Begun
    ) -> tuple[dict[str, Any] | None, Failure | None]:
        # With a timeout it is not waiting only for a person: its deadline ends it too.
        blocked = walk.blocker(call.key, not call.task.approval.timeout)
        if not begun.decided:
            await walk.approval(call, begun, blocked)
        return None, None

    def conclude(
        self, run: Attempts, call: Attempt, begun: Begun, outputs: dict[str, Any] | None
    ) -> dict[str, Any]:
        journal = run.journal
        step = journal.approval(call.key)
        if step.status == WAITING:  # only its timeout ends the wait without a person
            approve = call.task.approval.on_timeout == "approve"
            journal.decide_approval(call.key, {"approved": approve, "reason": "timed out", "by": "timeout"})
            step = journal.approvals[call.key]
        decided = approval_decision(output_of(step))
        if not decided["approved"]:
            reason = decided["reason"] or "no reason given"
            by = decided["by"] or "a person"
            raise TaskError("REJECTED", f"rejected by {by}: {reason}", retryable=False)
        return decided


def approval_decision(step_output: dict[str, Any]) -> dict[str, Any]:
    """The outputs of an approval task: approved, reason, by."""
    return {
        "approved": bool(step_output.get("approved", False)),
        "reason": str(step_output.get("reason", "")),
        "by": str(step_output.get("by", "")),
    }


register(ApprovalKind())

__all__ = ["ApprovalKind", "approval_decision"]
