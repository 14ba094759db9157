"""What a run's MCP servers ask a person during its tool calls, answered through the journal.

A server may ask, in the middle of a tool call, for input (MCP elicitation) or for a
completion by the agent's model that a person must allow first (sampling set to ``ask``).
Each such request is a durable step of its own, recorded before the tool call's step:
``elicitation:TOOL`` or ``sampling:TOOL``, with the tool call's id and the request's order
among the requests of its kind in that call.

- **Held**: the request is recorded ``waiting``, the run's status shows it
  (``pendingInput``) and the tool call stays open while a person answers
  (`stigmer execution respond`, `approve` or `reject`, the dashboard), as long as the
  server's tool timeout allows. The answer goes to the server and the call goes on.
- **Parked**: when nobody answered in that time, the tool call is abandoned (the server is
  told) and the run waits, ``WAITING_APPROVAL``, like an approval; the process is free.
- **Replayed**: an MCP tool call in flight cannot outlive its process. So when the run
  continues (after a park, or in another process after a crash) and its tool call has no
  result on record, the call is made again; each request the server makes again is
  answered from the record, in order, and only a new one waits for a person. What the tool
  did before its first request, it does again: such tools should ask before they act.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.backend.protocol import RunJournal
from stigmer.errors import Conflict
from stigmer.mcp.types import Elicitation, ElicitationAnswer, SamplingRequest
from stigmer.models.types import ToolCall
from stigmer.resources.steps import ASKS, COMPLETED, ELICITATION, SAMPLING, WAITING, input_of, output_of
from stigmer.runners.agent.durable import DurableSteps
from stigmer.runners.agent.events import EventSink, input_needed

# How often a held request reads its step for the answer (one indexed read).
ANSWER_POLL_SECONDS = 0.5


@dataclass
class _Call:
    """The tool call in flight, and what its server asked so far."""

    call: ToolCall
    server: str
    task: asyncio.Task[Any]
    hold_s: float
    recorded: dict[str, list[ExecutionStep]]
    asked: dict[str, int] = field(default_factory=dict)
    waiting: list[ExecutionStep] = field(default_factory=list)
    parked: bool = False


class RunAsks:
    """The :class:`~stigmer.mcp.types.Person` of one run (see the module).

    Args:
        backend: The run journal.
        execution: The run's record, kept by its runner; its ``pending_input`` is set here.
        steps: The run's step cursor.
        worker_id: The lease holder.
        clock: Where "now" comes from.
        emit: Live events.
        holds: How long a request is held open before the run parks, by server name.
    """

    def __init__(
        self,
        backend: RunJournal,
        execution: AgentExecution,
        steps: DurableSteps,
        *,
        worker_id: str,
        clock: Callable[[], datetime],
        emit: EventSink,
        holds: dict[str, float],
    ) -> None:
        self.backend = backend
        self.execution = execution
        self.steps = steps
        self.worker_id = worker_id
        self.clock = clock
        self.emit = emit
        self.holds = holds
        self._current: _Call | None = None

    def recorded(self, call: ToolCall) -> list[ExecutionStep]:
        """Take the recorded requests of ``call`` off the step cursor (they come before its step)."""
        taken: list[ExecutionStep] = []
        while self.steps.replaying:
            step = self.steps.recorded.get(self.steps.position + 1)
            if step is None or not step.name.startswith(ASKS) or input_of(step).get("callId") != call.id:
                break
            taken.append(self.steps.next(step.name) or step)
        return taken

    @contextlib.contextmanager
    def during(self, call: ToolCall, server: str, recorded: list[ExecutionStep]) -> Iterator[_Call]:
        """Answer requests for ``call`` while the block runs (the call itself, in this task).

        On leaving, a request still waiting is closed unanswered unless the run parked: the
        tool call ended (or failed) without its answer, which a later pass must not use.
        """
        task = asyncio.current_task()
        assert task is not None
        by_kind: dict[str, list[ExecutionStep]] = {}
        for step in recorded:
            by_kind.setdefault(step.name.partition(":")[0] + ":", []).append(step)
        current = _Call(call, server, task, self.holds.get(server, 0.0), by_kind)
        self._current = current
        try:
            yield current
        finally:
            self._current = None
            if not current.parked:
                self._close(current)

    async def elicit(self, server: str, request: Elicitation) -> ElicitationAnswer:
        """The answer on record, else the one a person gives while the call is held."""
        details: dict[str, Any] = {"mode": request.mode, "message": request.message}
        if request.mode == "url":
            details.update(url=request.url, elicitationId=request.elicitation_id)
        else:
            details["requestedSchema"] = request.requested_schema
            # A Struct keeps no order: the form shows the fields in the server's.
            details["fields"] = list(request.requested_schema.get("properties") or {})
        answer = await self._answer(ELICITATION, server, details)
        if answer is None:
            return ElicitationAnswer("cancel")
        return ElicitationAnswer(str(answer.get("action", "cancel")), dict(answer.get("content") or {}))

    async def allow_sampling(self, server: str, request: SamplingRequest) -> bool:
        """Whether a person approved this sampling request (on record, or while held)."""
        answer = await self._answer(
            SAMPLING, server, {"message": request.text, "maxTokens": request.max_tokens}
        )
        return bool(answer and answer.get("approved"))

    async def _answer(self, kind: str, server: str, details: dict[str, Any]) -> dict[str, Any] | None:
        """The recorded output answering the next request of ``kind``; None when the call is over."""
        current = self._current
        if current is None or current.server != server:
            return None  # a request after its call ended, or from another server: nobody asked
        index = current.asked.get(kind, 0)
        current.asked[kind] = index + 1
        on_record = current.recorded.get(kind, [])
        step = on_record[index] if index < len(on_record) else None
        if step is not None and step.status != WAITING:
            return output_of(step)
        if step is None:
            name = kind + current.call.name
            self.steps.next(name)
            details = {"callId": current.call.id, "server": server, "index": index, **details}
            step = self.steps.record(name, input=details, output={}, started=self.clock(), status=WAITING)
        current.waiting.append(step)
        self._show(step)
        answered = await self._held(current, step)
        if answered is None:
            await self._park(current)  # never returns: the call is cancelled, the run parks
            return None
        current.waiting.remove(step)
        self._hide()
        return output_of(answered)

    async def _held(self, current: _Call, step: ExecutionStep) -> ExecutionStep | None:
        """The step once answered, or None when the hold ran out first."""
        deadline = time.monotonic() + current.hold_s
        while time.monotonic() < deadline:
            await asyncio.sleep(min(ANSWER_POLL_SECONDS, max(deadline - time.monotonic(), 0)))
            found = self.backend.list_steps(self.execution.metadata.id, after=step.step - 1)
            if found and found[0].step == step.step and found[0].status != WAITING:
                return found[0]
        return None

    async def _park(self, current: _Call) -> None:
        """Abandon the tool call (its task is cancelled: the server is told) and wait for the
        session to close; the runner parks the run."""
        current.parked = True
        current.task.cancel()
        await asyncio.Event().wait()

    def _show(self, step: ExecutionStep) -> None:
        event = input_needed(step)
        pending = self.execution.status.pending_input
        pending.Clear()
        pending.kind, pending.call_id = event.kind, str(input_of(step).get("callId", ""))
        pending.tool, pending.server, pending.message = event.tool, event.server, event.message
        pending.url, pending.step = event.url, step.step
        pending.max_tokens = int(input_of(step).get("maxTokens", 0))
        pending.fields.extend(event.fields)
        if event.requested_schema:
            pending.requested_schema.update(event.requested_schema)
        self._save()
        self.emit(event)

    def _hide(self) -> None:
        if self.execution.status.HasField("pending_input"):
            self.execution.status.ClearField("pending_input")
            self._save()

    def _save(self) -> None:
        self.execution.CopyFrom(
            self.backend.update_execution_status(self.execution, worker_id=self.worker_id)
        )

    def _close(self, current: _Call) -> None:
        for step in current.waiting:
            closed = ExecutionStep()
            closed.CopyFrom(step)
            closed.status = COMPLETED
            unanswered = "the tool call ended before a person answered"
            if step.name.startswith(ELICITATION):
                closed.output.update({"action": "cancel", "unanswered": unanswered})
            else:
                closed.output.update({"approved": False, "reason": unanswered})
            closed.end_time.FromDatetime(self.clock())
            with contextlib.suppress(Conflict):  # answered meanwhile: the answer stays on record
                self.backend.record_step(closed, worker_id=self.worker_id)
        if current.waiting:
            self._hide()


__all__ = ["ANSWER_POLL_SECONDS", "RunAsks"]
