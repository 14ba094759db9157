"""The format of an agent execution's durable steps, and the transcript they make.

The runner writes one step per model turn (``model``), tool call (``tool:NAME``),
approval (``approval:NAME``) and sub-agent run (``agent:NAME``), and, before a tool call's
own step, one per request its MCP server made of a person during the call: an elicitation
(``elicitation:NAME``) or a sampling request to approve (``sampling:NAME``). Each message is stored
once, in the step that produced it; the conversation shown by ``execution get`` and the
history a session replays are assembled from the steps here.
"""

from __future__ import annotations

from typing import Any

from stigmer.api.agentexecution.v1.agentexecution_pb2 import Message, ToolCall
from stigmer.api.backend.v1.backend_pb2 import ExecutionStep

MODEL = "model"
TOOL = "tool:"
APPROVAL = "approval:"
AGENT = "agent:"
ELICITATION = "elicitation:"
SAMPLING = "sampling:"
# What a server asks a person during a tool call (runners/agent/asks.py).
ASKS = (ELICITATION, SAMPLING)

COMPLETED = "completed"
FAILED = "failed"
WAITING = "waiting"


def plain(value: Any) -> Any:
    """Data read back from a protobuf Struct, with integral numbers as ints again.

    Struct keeps every number as a double, so a tool argument ``2`` would come back from
    the record as ``2.0``; a tool that validates ``integer`` must get what the model sent.
    """
    kind = type(value)  # the exact types first: this runs for every value an expression reads
    if kind is str or kind is bool or kind is int or value is None:
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def output_of(step: ExecutionStep) -> dict[str, Any]:
    """A step's output as plain data."""
    from stigmer.resources.codec import to_dict

    return plain(to_dict(step.output)) if step.HasField("output") else {}


def input_of(step: ExecutionStep) -> dict[str, Any]:
    """A step's input as plain data."""
    from stigmer.resources.codec import to_dict

    return plain(to_dict(step.input)) if step.HasField("input") else {}


def duration_ms(step: ExecutionStep) -> int:
    """How long a finished step took, in milliseconds (0 while it waits)."""
    if not (step.HasField("start_time") and step.HasField("end_time")):
        return 0
    return max(int(step.end_time.ToMilliseconds() - step.start_time.ToMilliseconds()), 0)


def transcript(message: str, steps: list[ExecutionStep]) -> tuple[list[Message], list[ToolCall]]:
    """The conversation of one run (its user message, answers, tool results) and its tool calls."""
    messages = [Message(role="user", content=message)] if message else []
    calls: list[ToolCall] = []
    approvals: dict[str, str] = {}
    for step in steps:
        out, inp = output_of(step), input_of(step)
        if step.name == MODEL:
            msg = Message(role="assistant", content=str(out.get("text", "")))
            for call in out.get("toolCalls", []):
                tc = msg.tool_calls.add(id=str(call.get("id", "")), name=str(call.get("name", "")))
                tc.arguments.update(call.get("arguments") or {})
            messages.append(msg)
        elif step.name.startswith(APPROVAL):
            decision = (
                "pending" if step.status == WAITING else ("approved" if out.get("approved") else "rejected")
            )
            approvals[str(inp.get("callId", ""))] = decision
        elif step.name.startswith((TOOL, AGENT)) and step.status != WAITING:
            call_id = str(inp.get("callId", ""))
            text = str(out.get("text", ""))
            messages.append(Message(role="tool", content=text, tool_call_id=call_id))
            tc = ToolCall(
                id=call_id,
                name=step.name.partition(":")[2],
                server=str(inp.get("server", "")),
                result=text,
                is_error=bool(out.get("isError", False)),
                duration_ms=duration_ms(step),
                approval=approvals.get(call_id, ""),
            )
            tc.arguments.update(inp.get("arguments") or {})
            calls.append(tc)
    return messages, calls


__all__ = [
    "AGENT",
    "APPROVAL",
    "ASKS",
    "COMPLETED",
    "ELICITATION",
    "FAILED",
    "MODEL",
    "SAMPLING",
    "TOOL",
    "WAITING",
    "duration_ms",
    "input_of",
    "output_of",
    "plain",
    "transcript",
]
