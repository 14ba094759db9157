"""The ``agent`` task: run an agent (a child AgentExecution) with a message and inputs.

Its outputs are the agent's answer as ``{"output": TEXT}``, or the JSON keys its
``outputs`` asked for.
"""

from __future__ import annotations

import json
from typing import Any

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.runners.workflow.kinds.base import Fields, TaskCall
from stigmer.runners.workflow.kinds.children import ChildKind
from stigmer.runners.workflow.kinds.registry import register


class AgentKind(ChildKind):
    """``agent: NAME`` (with ``message``, ``inputs``, ``outputs``)."""

    field = "agent"
    label = "agent"
    resource = "Agent"
    child_workflow = "StigmerAgent"

    def new_child(
        self, call: TaskCall, fields: Fields, inputs: dict[str, Any], redact: Any
    ) -> AgentExecution:
        message = redact(str(fields.value(call.task.message, "message") or ""))
        return new_agent_child(call, message, inputs)


def new_agent_child(call: TaskCall, message: str, inputs: dict[str, Any]) -> AgentExecution:
    """The AgentExecution an agent task starts."""
    child = AgentExecution()
    child.spec.agent = call.task.agent
    if inputs:
        child.spec.inputs.update(inputs)
        rendered = json.dumps(inputs, indent=2, ensure_ascii=False)
        message = f"{message}\n\nInputs:\n```json\n{rendered}\n```" if message else rendered
    child.spec.message = message
    child.spec.outputs.extend(call.task.outputs)
    return child


register(AgentKind())

__all__ = ["AgentKind", "new_agent_child"]
