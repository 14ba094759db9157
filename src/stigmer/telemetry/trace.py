"""A run as a tree of timed spans, built from its journal alone.

The run is the root span; an agent run's model calls, tool calls and approvals are its
children, a workflow run's task attempts (and a forEach's items under their task, an http
task's request under its attempt) are; a run another run started (a sub-agent, an agent
task, a child workflow) hangs under the step or attempt that started it. Span ids come from
:mod:`stigmer.resources.trace_ids`, so this tree, `stigmer execution trace`, the dashboard's
waterfall and the spans exported to OpenTelemetry name every span the same way.

Each span carries the OpenTelemetry GenAI attributes of what it stands for
(``gen_ai.operation.name`` ``invoke_agent``, ``chat`` or ``execute_tool``, the provider and
model, tokens, finish reasons, the tool's name) and its own tokens and cost; a span that is
not a model call counts those of the spans under it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from google.protobuf.timestamp_pb2 import Timestamp

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.protocol import ExecutionReads
from stigmer.errors import NotFound
from stigmer.resources.kinds import Execution
from stigmer.resources.steps import AGENT, APPROVAL, MODEL, TOOL, WAITING, input_of, output_of
from stigmer.resources.trace_ids import (
    attempt_span_id,
    parse_traceparent,
    run_span_id,
    run_trace_id,
    step_span_id,
)
from stigmer.resources.workflow_steps import END, START

# Runs drawn in one trace at most: a forEach over thousands of agent runs stays readable.
MAX_RUNS = 200
# What OpenTelemetry calls the reasons a model stopped (gen_ai.response.finish_reasons).
FINISH_REASONS = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length", "error": "error"}
_PHASES = {
    ExecutionPhase.PENDING: "pending",
    ExecutionPhase.RUNNING: "running",
    ExecutionPhase.WAITING_APPROVAL: "waiting",
    ExecutionPhase.COMPLETED: "ok",
    ExecutionPhase.FAILED: "error",
    ExecutionPhase.CANCELLED: "cancelled",
}
_TASK_PHASES = {"COMPLETED": "ok", "FAILED": "error", "CANCELLED": "cancelled", "SKIPPED": "skipped"}


@dataclass
class Span:
    """One timed piece of a run.

    Attributes:
        kind: ``workflow``, ``agent``, ``task``, ``model``, ``tool``, ``approval`` or ``http``.
        status: ``ok``, ``error``, ``cancelled``, ``skipped``, ``running``, ``waiting``,
            ``pending``, or ``reused`` (a retry's step copied from the run it retries).
        end: None while it has not ended.
    """

    name: str
    kind: str
    span_id: str
    parent_id: str
    execution_id: str
    start: datetime | None
    end: datetime | None
    status: str
    error: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    unpriced: int = 0
    model_calls: int = 0
    reused_from: str = ""
    children: list[Span] = field(default_factory=list)

    def walk(self) -> Iterator[Span]:
        """This span and every span under it, depth first, in order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self, origin: datetime | None, now: datetime) -> dict[str, Any]:
        """As `stigmer execution trace -o json` and the dashboard show it; times relative to
        ``origin`` (the trace's start) in milliseconds."""
        end = self.end or now
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "executionId": self.execution_id,
            "spanId": self.span_id,
            "parentSpanId": self.parent_id,
            "start": _rfc3339(self.start),
            "end": _rfc3339(self.end),
            "offsetMs": _ms(origin, self.start),
            "durationMs": _ms(self.start, end),
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "cost": self.cost,
            "modelCalls": self.model_calls,
            "unpricedModelCalls": self.unpriced,
            "attributes": dict(self.attributes),
            "children": [c.to_dict(origin, now) for c in self.children],
        }
        if self.error:
            data["error"] = self.error
        if self.reused_from:
            data["reusedFrom"] = self.reused_from
        return data


@dataclass
class Trace:
    """The spans of one run and of the runs it started."""

    trace_id: str
    root: Span
    # Runs left out past MAX_RUNS (their spans are not in the tree).
    runs_left_out: int = 0

    def spans(self) -> Iterator[Span]:
        """Every span, depth first."""
        return self.root.walk()

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """The whole tree as data (see :meth:`Span.to_dict`)."""
        now = now or datetime.now(UTC)
        root = self.root
        return {
            "traceId": self.trace_id,
            "executionId": root.execution_id,
            "status": root.status,
            "durationMs": _ms(root.start, root.end or now),
            "inputTokens": root.input_tokens,
            "outputTokens": root.output_tokens,
            "cost": root.cost,
            "modelCalls": root.model_calls,
            "unpricedModelCalls": root.unpriced,
            "runsLeftOut": self.runs_left_out,
            "root": root.to_dict(root.start, now),
        }


def build_trace(reads: ExecutionReads, execution_id: str, *, children: bool = True) -> Trace:
    """The trace of a run, from its record and journal (and, with ``children``, those of the
    runs it started, to :data:`MAX_RUNS` runs).

    Raises:
        NotFound: There is no such run.
    """
    execution = reads.get_execution(execution_id)
    builder = _Builder(reads, children)
    parent = parse_traceparent(execution.spec.trace_parent)
    root = builder.run(execution, parent[1] if parent else "")
    _roll_up(root)
    trace_id = run_trace_id(execution_id, execution.spec.trace_parent)
    return Trace(trace_id, root, builder.left_out)


def run_spans(execution: Execution, steps: list[ExecutionStep], *, content: bool = False) -> Span:
    """The spans of one run alone (each child run exports its own), for export; with
    ``content``, its messages, tool arguments and results too (masked as the journal holds them)."""
    builder = _Builder(None, False, content)
    parent = parse_traceparent(execution.spec.trace_parent)
    root = builder.spans_of(execution, steps, parent[1] if parent else "")
    _roll_up(root)
    # Its record counts what its child runs used too (none of them is in this tree).
    usage = execution.status.usage
    root.input_tokens, root.output_tokens = usage.input_tokens, usage.output_tokens
    root.model_calls, root.cost, root.unpriced = usage.model_calls, usage.cost, usage.unpriced_model_calls
    _usage_attributes(root)
    return root


class _Builder:
    def __init__(self, reads: ExecutionReads | None, children: bool, content: bool = False) -> None:
        self.reads = reads
        self.children = children
        self.content = content
        self.runs = 0
        self.left_out = 0

    def run(self, execution: Execution, parent_id: str) -> Span:
        self.runs += 1
        assert self.reads is not None
        return self.spans_of(execution, self.reads.list_steps(execution.metadata.id), parent_id)

    def spans_of(self, execution: Execution, steps: list[ExecutionStep], parent_id: str) -> Span:
        if isinstance(execution, AgentExecution):
            return self._agent(execution, steps, parent_id)
        return self._workflow(execution, steps, parent_id)

    def _child(self, under: Span, child_id: str) -> None:
        """Hang the run ``child_id`` under the span that started it."""
        if not self.children or not child_id or self.reads is None:
            return
        if self.runs >= MAX_RUNS:
            self.left_out += 1
            return
        try:
            child = self.reads.get_execution(child_id)
        except NotFound:  # pruned meanwhile
            return
        under.children.append(self.run(child, under.span_id))

    # -- agent runs ------------------------------------------------------------------------

    def _agent(self, execution: AgentExecution, steps: list[ExecutionStep], parent_id: str) -> Span:
        run_id = execution.metadata.id
        status = execution.status
        provider, _, model = status.model.partition("/")
        root = _run_span(execution, f"invoke_agent {execution.spec.agent}", "agent", parent_id)
        root.attributes.update(
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": execution.spec.agent,
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": model or provider,
            }
        )
        conversation = Conversation(execution.spec.message) if self.content else None
        for step in steps:
            out, inp = output_of(step), input_of(step)
            name = step.name.partition(":")[2]
            span_id = step_span_id(run_id, step.step)
            if conversation is not None:
                conversation.add(step, inp, out)
            if step.name == MODEL:
                span = _model_span(step, out, span_id, root.span_id, run_id, status.model)
                if conversation is not None:
                    span.attributes.update(conversation.model_call(out))
            elif step.name.startswith((TOOL, AGENT)):
                span = self._tool(step, inp, out, span_id, root.span_id, run_id, conversation is not None)
            elif step.name.startswith(APPROVAL):
                span = _step_span(step, f"approval {name}", "approval", span_id, root.span_id, run_id)
                if step.status != WAITING:
                    span.attributes["stigmer.approval.approved"] = bool(out.get("approved"))
            else:
                continue
            if out.get("reusedFrom"):
                span.status, span.reused_from = "reused", str(out["reusedFrom"])
            root.children.append(span)
        return root

    def _tool(
        self,
        step: ExecutionStep,
        inp: dict[str, Any],
        out: dict[str, Any],
        span_id: str,
        parent_id: str,
        run_id: str,
        content: bool,
    ) -> Span:
        name = step.name.partition(":")[2]
        sub_agent = step.name.startswith(AGENT)
        span = _step_span(step, f"execute_tool {name}", "tool", span_id, parent_id, run_id)
        span.attributes.update(
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": name,
                "gen_ai.tool.call.id": str(inp.get("callId", "")),
                "gen_ai.tool.type": "agent" if sub_agent else "function",
            }
        )
        if content:
            span.attributes["gen_ai.tool.call.arguments"] = _json(inp.get("arguments") or {})
            span.attributes["gen_ai.tool.call.result"] = _clip(str(out.get("text", "")))
        if inp.get("server") and not sub_agent:
            span.attributes["stigmer.mcp.server"] = str(inp["server"])
        if out.get("isError"):
            span.status, span.error = "error", _short(str(out.get("text", "")))
            span.attributes["error.type"] = "tool_error"
        if sub_agent:
            self._child(span, str(inp.get("childExecutionId") or out.get("childExecutionId") or ""))
            if not span.children and out.get("usage"):  # its run is not in this tree: as recorded
                used = out["usage"]
                span.input_tokens, span.output_tokens = int(used["inputTokens"]), int(used["outputTokens"])
                span.model_calls, span.unpriced = int(used["modelCalls"]), int(used["unpriced"])
                span.cost = float(used["cost"])
        return span

    # -- workflow runs ---------------------------------------------------------------------

    def _workflow(self, execution: Execution, steps: list[ExecutionStep], parent_id: str) -> Span:
        run_id = execution.metadata.id
        workflow = str(getattr(execution.spec, "workflow", ""))
        root = _run_span(execution, f"workflow {workflow}", "workflow", parent_id)
        root.attributes["stigmer.workflow.name"] = workflow
        attempts: dict[tuple[str, int], Span] = {}
        latest: dict[str, Span] = {}
        for step in steps:
            kind, _, key = step.name.partition(":")
            kind += ":"
            inp, out = input_of(step), output_of(step)
            if kind in (START, END):
                number = int(inp.get("attempt", 1))
                span = attempts.get((key, number))
                if span is None:
                    span = self._attempt(root, latest, run_id, key, number, step)
                    attempts[key, number] = span
                if kind == START:
                    self._started(span, run_id, inp)
                else:
                    _ended(span, step, out)
            elif kind == APPROVAL and key in latest:
                under = latest[key]
                span_id = step_span_id(run_id, step.step)
                span = _step_span(step, f"approval {key}", "approval", span_id, under.span_id, run_id)
                if step.status != WAITING:
                    span.attributes["stigmer.approval.approved"] = bool(out.get("approved"))
                under.children.append(span)
        return root

    def _attempt(
        self, root: Span, latest: dict[str, Span], run_id: str, key: str, number: int, step: ExecutionStep
    ) -> Span:
        parent_key = key.partition("[")[0] if "[" in key else ""
        under = latest.get(parent_key, root) if parent_key else root
        span = Span(
            name=f"task {key}",
            kind="task",
            span_id=attempt_span_id(run_id, key, number),
            parent_id=under.span_id,
            execution_id=run_id,
            start=_time(step.start_time),
            end=None,
            status="running",
            attributes={"stigmer.task.name": key, "stigmer.task.attempt": number},
        )
        under.children.append(span)
        latest[key] = span
        return span

    def _started(self, span: Span, run_id: str, inp: dict[str, Any]) -> None:
        """What an attempt's start says: the run it started, the request it sends."""
        if inp.get("method"):
            method, url = str(inp["method"]), str(inp.get("url", ""))
            key, number = (
                str(span.attributes["stigmer.task.name"]),
                int(span.attributes["stigmer.task.attempt"]),
            )
            request = Span(
                name=method,
                kind="http",
                span_id=attempt_span_id(run_id, f"{key}/http", number),
                parent_id=span.span_id,
                execution_id=run_id,
                start=span.start,
                end=None,
                status="running",
                attributes={"http.request.method": method, "url.full": url},
            )
            host = urlsplit(url).hostname
            if host:
                request.attributes["server.address"] = host
            span.children.append(request)
        if inp.get("childExecutionId"):
            self._child(span, str(inp["childExecutionId"]))


class Conversation:
    """The messages of an agent run as its steps add them, in the GenAI conventions' form
    (``gen_ai.input.messages`` / ``gen_ai.output.messages``). The journal holds the run's own
    message and what followed; its system prompt and session history are not repeated there."""

    def __init__(self, message: str) -> None:
        self.messages: list[dict[str, Any]] = []
        if message:
            self.messages.append({"role": "user", "parts": [{"type": "text", "content": message}]})
        self.sent: list[dict[str, Any]] = []

    def add(self, step: ExecutionStep, inp: dict[str, Any], out: dict[str, Any]) -> None:
        """Note what the step adds to the conversation (a model call: what it was sent first)."""
        if step.name == MODEL:
            self.sent = list(self.messages)
            self.messages.append(_assistant(out))
        elif step.name.startswith((TOOL, AGENT)) and step.status != WAITING:
            part = {
                "type": "tool_call_response",
                "id": str(inp.get("callId", "")),
                "response": out.get("text", ""),
            }
            self.messages.append({"role": "tool", "parts": [part]})

    def model_call(self, out: dict[str, Any]) -> dict[str, str]:
        """The content attributes of the model call just added."""
        reply = {
            **_assistant(out),
            "finish_reason": FINISH_REASONS.get(str(out.get("stopReason", "")), "stop"),
        }
        return {"gen_ai.input.messages": _json(self.sent), "gen_ai.output.messages": _json([reply])}


def _assistant(out: dict[str, Any]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if out.get("text"):
        parts.append({"type": "text", "content": str(out["text"])})
    for call in out.get("toolCalls") or []:
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id", ""),
                "name": call.get("name", ""),
                "arguments": call.get("arguments"),
            }
        )
    return {"role": "assistant", "parts": parts}


# An attribute holding content is cut here: exporters and backends refuse larger ones.
CONTENT_LIMIT = 64 * 1024


def _json(value: Any) -> str:
    import json

    return _clip(json.dumps(value, ensure_ascii=False, default=str))


def _clip(text: str) -> str:
    return text if len(text) <= CONTENT_LIMIT else text[: CONTENT_LIMIT - 1] + "…"


def _ended(span: Span, step: ExecutionStep, out: dict[str, Any]) -> None:
    """An attempt's end: its times, how it went, the response of its request."""
    span.start = _time(step.start_time) or span.start
    span.end = _time(step.end_time) or _time(step.start_time)
    phase = str(out.get("phase", "COMPLETED"))
    span.status = _TASK_PHASES.get(phase, "error")
    if step.error:
        span.error = _short(step.error)
    if out.get("errorCode"):
        span.attributes["error.type"] = str(out["errorCode"])
    if out.get("retryAt"):
        span.attributes["stigmer.task.retry_at"] = str(out["retryAt"])
    if out.get("reusedFrom"):
        span.status, span.reused_from = "reused", str(out["reusedFrom"])
    for request in (c for c in span.children if c.kind == "http"):
        request.start, request.end = span.start, span.end
        request.status, request.error = span.status, span.error
        status_code = (out.get("outputs") or {}).get("status")
        if isinstance(status_code, int):
            request.attributes["http.response.status_code"] = status_code
        if span.status == "error":
            request.attributes["error.type"] = str(out.get("errorCode") or "error")


def _run_span(execution: Execution, name: str, kind: str, parent_id: str) -> Span:
    status = execution.status
    run_id = execution.metadata.id
    span = Span(
        name=name,
        kind=kind,
        span_id=run_span_id(run_id),
        parent_id=parent_id,
        execution_id=run_id,
        start=_time(status.start_time) or _time(execution.metadata.create_time),
        end=_time(status.end_time),
        status=_PHASES.get(status.phase, "pending"),
        error=_short(status.error.message),
        attributes={"stigmer.execution.id": run_id},
    )
    if status.error.code:
        span.attributes["error.type"] = status.error.code
    return span


def _step_span(step: ExecutionStep, name: str, kind: str, span_id: str, parent_id: str, run_id: str) -> Span:
    waiting = step.status == WAITING
    return Span(
        name=name,
        kind=kind,
        span_id=span_id,
        parent_id=parent_id,
        execution_id=run_id,
        start=_time(step.start_time),
        end=None if waiting else _time(step.end_time),
        status="waiting" if waiting else ("error" if step.error else "ok"),
        error=_short(step.error),
    )


def _model_span(
    step: ExecutionStep, out: dict[str, Any], span_id: str, parent_id: str, run_id: str, run_model: str
) -> Span:
    model_id = str(out.get("model") or run_model)
    provider, _, model = model_id.partition("/")
    span = _step_span(step, f"chat {model or provider}", "model", span_id, parent_id, run_id)
    usage = dict(out.get("usage") or {})
    span.model_calls = 1
    span.attributes.update(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model or provider,
            "gen_ai.response.model": str(out.get("responseModel") or model or provider),
        }
    )
    stop = str(out.get("stopReason", ""))
    if stop:
        span.attributes["gen_ai.response.finish_reasons"] = [FINISH_REASONS.get(stop, stop)]
    if not usage.get("unreported"):
        span.input_tokens = int(usage.get("inputTokens", 0))
        span.output_tokens = int(usage.get("outputTokens", 0))
        span.attributes["gen_ai.usage.input_tokens"] = span.input_tokens
        span.attributes["gen_ai.usage.output_tokens"] = span.output_tokens
    if "cost" in usage:
        span.cost = float(usage["cost"])
        span.attributes["stigmer.cost.usd"] = span.cost
    else:
        span.unpriced = 1
    return span


def _roll_up(span: Span) -> None:
    """A span that is not a model call counts the tokens and cost of the spans under it
    (a retry's reused steps count in the run they ran in, not here)."""
    for child in span.children:
        _roll_up(child)
    if span.kind == "model":
        return
    for child in span.children:
        if child.status == "reused":
            continue
        span.input_tokens += child.input_tokens
        span.output_tokens += child.output_tokens
        span.cost += child.cost
        span.unpriced += child.unpriced
        span.model_calls += child.model_calls
    if span.kind in ("agent", "workflow"):
        _usage_attributes(span)


def _usage_attributes(span: Span) -> None:
    if span.model_calls:
        span.attributes["gen_ai.usage.input_tokens"] = span.input_tokens
        span.attributes["gen_ai.usage.output_tokens"] = span.output_tokens
        if span.model_calls > span.unpriced:
            span.attributes["stigmer.cost.usd"] = span.cost


def _time(stamp: Timestamp) -> datetime | None:
    return stamp.ToDatetime(UTC) if stamp.seconds or stamp.nanos else None


def _rfc3339(when: datetime | None) -> str:
    return when.isoformat().replace("+00:00", "Z") if when else ""


def _ms(start: datetime | None, end: datetime | None) -> int:
    if start is None or end is None:
        return 0
    return max(int((end - start).total_seconds() * 1000), 0)


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = [
    "CONTENT_LIMIT",
    "FINISH_REASONS",
    "MAX_RUNS",
    "Conversation",
    "Span",
    "Trace",
    "build_trace",
    "run_spans",
]
