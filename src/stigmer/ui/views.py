"""What the dashboard shows, as JSON: resources, executions, task graphs and steps.

Everything here is a pure function of records read through the Backend protocol, so the
dashboard shows what `stigmer get` and `stigmer execution get` show. Secrets are masked by
the backend before they get here; nothing here unmasks them.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase, Usage
from stigmer.api.workflow.v1.workflow_pb2 import Workflow, WorkflowInput
from stigmer.backend.watch import FINISHED
from stigmer.resources.codec import to_dict
from stigmer.resources.elicitation import properties
from stigmer.resources.graph import describe, edges, label, levels
from stigmer.resources.kinds import Execution, Resource
from stigmer.resources.steps import APPROVAL, WAITING, input_of, output_of, plain

PREVIEW = 240


def when(stamp: Timestamp) -> str:
    """A timestamp as RFC 3339 text, "" when it is unset."""
    return stamp.ToJsonString() if stamp.seconds or stamp.nanos else ""


def _short(value: Any, limit: int = PREVIEW) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record(message: Resource) -> dict[str, Any]:
    """A resource's whole JSON form (camelCase, as `-o json` prints it), numbers made whole again."""
    data: dict[str, Any] = plain(to_dict(message))
    return data


def resource_summary(resource: Resource) -> dict[str, Any]:
    """One row of a resource list: name, description, labels, version, and what the kind adds."""
    spec = record(resource).get("spec", {})
    meta = resource.metadata
    row: dict[str, Any] = {
        "name": meta.name,
        "description": str(spec.get("description", "")),
        "labels": dict(sorted(meta.labels.items())),
        "version": meta.version,
        "updateTime": when(meta.update_time),
    }
    kind = resource.kind
    if kind == "Agent":
        model = spec.get("model") or {}
        row["model"] = "/".join(p for p in (model.get("provider", ""), model.get("name", "")) if p)
        row["mcpServers"] = [
            s if isinstance(s, str) else s.get("name", "inline") for s in spec.get("mcpServers", [])
        ]
        row["skills"] = list(spec.get("skills", []))
    elif kind == "Schedule":
        status = record(resource).get("status", {})
        timing = spec.get("cron") or f"every {spec.get('every', '')}"
        row["when"] = f"{timing} ({spec.get('timeZone') or 'UTC'})"
        row["target"] = (
            f"workflow {spec['workflow']}" if spec.get("workflow") else f"agent {spec.get('agent', '')}"
        )
        row["nextFires"] = list(status.get("nextFireTimes", []))
        row["lastExecutionId"] = status.get("lastExecutionId", "")
        row["paused"] = bool(spec.get("paused"))
    elif kind == "Webhook":
        row["workflow"] = spec.get("workflow", "")
        row["path"] = f"/hooks/{meta.name}"
    elif kind == "Workflow":
        row["tasks"] = len(spec.get("tasks", []))
        row["inputs"] = sorted(spec.get("inputs", {}))
    elif kind == "McpServer":
        row["transport"] = "stdio" if "stdio" in spec else "http" if "http" in spec else ""
        row["target"] = (
            " ".join([spec["stdio"].get("command", ""), *spec["stdio"].get("args", [])])
            if "stdio" in spec
            else spec.get("http", {}).get("url", "")
        )
        row["approvalRequired"] = list(spec.get("approvalRequired", []))
    elif kind == "Environment":
        row["variables"] = sorted(spec.get("variables", {}))
        row["secrets"] = sorted(spec.get("secrets", {}))  # names only: values are never sent
    return row


def resource_detail(resource: Resource) -> dict[str, Any]:
    """One resource: its summary, its record, and for a workflow its graph and inputs."""
    data = record(resource)
    if resource.kind == "Environment":
        # The backend masks secret values already; the page needs only their names.
        secrets = data.get("spec", {}).get("secrets", {})
        data.get("spec", {})["secrets"] = dict.fromkeys(sorted(secrets), "****")
    detail: dict[str, Any] = {"kind": resource.kind, "summary": resource_summary(resource), "record": data}
    if isinstance(resource, Workflow):
        detail["graph"] = graph(resource)
        detail["inputs"] = inputs(resource)
    return detail


def graph(workflow: Workflow) -> dict[str, Any]:
    """A workflow's task graph: nodes with their level (column) and kind, and labelled edges."""
    level = levels(workflow)
    nodes = []
    for task in workflow.spec.tasks:
        nodes.append(
            {
                "name": task.name,
                "kind": label(task),
                "label": describe(task),
                "level": level[task.name],
                "when": task.when,
            }
        )
    return {
        "nodes": nodes,
        "edges": [{"from": a, "to": b, "label": label} for a, b, label in edges(workflow)],
    }


def _required(declared: WorkflowInput) -> bool:
    if declared.HasField("required"):
        return declared.required
    return not declared.HasField("default")


def inputs(workflow: Workflow) -> list[dict[str, Any]]:
    """A workflow's declared inputs for the form that starts a run: required ones first, each
    group by name (a protobuf map keeps no order of its own)."""
    out = []
    ordered = sorted(workflow.spec.inputs.items(), key=lambda item: (not _required(item[1]), item[0]))
    for name, declared in ordered:
        item: dict[str, Any] = {
            "name": name,
            "type": declared.type or "string",
            "description": declared.description,
            "required": _required(declared),
        }
        if declared.HasField("default"):
            item["default"] = plain(to_dict(declared)["default"])
        out.append(item)
    return out


def execution_summary(execution: Execution) -> dict[str, Any]:
    """One row of the executions list."""
    agent = isinstance(execution, AgentExecution)
    status = execution.status
    return {
        "id": execution.metadata.id,
        "kind": "agent" if agent else "workflow",
        "definition": execution.spec.agent
        if isinstance(execution, AgentExecution)
        else execution.spec.workflow,
        "phase": ExecutionPhase.Name(status.phase),
        "createTime": when(execution.metadata.create_time),
        "startTime": when(status.start_time),
        "endTime": when(status.end_time),
        "parent": execution.spec.parent_execution_id,
        "task": execution.metadata.labels.get("stigmer.ai/task", ""),
        "message": _short(execution.spec.message, 120) if isinstance(execution, AgentExecution) else "",
        "error": status.error.message.splitlines()[0] if status.error.message else "",
        "cancelRequested": status.cancel_requested,
        "trigger": _trigger(execution),
        "usage": _usage(status.usage),
    }


def _usage(usage: Usage) -> dict[str, Any]:
    """A run's model calls, tokens and cost (cost only where calls were priced)."""
    priced = usage.model_calls - usage.unpriced_model_calls
    return {
        "modelCalls": usage.model_calls,
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "unreportedModelCalls": usage.unreported_model_calls,
        "cost": usage.cost if priced > 0 else None,
        "unpricedModelCalls": usage.unpriced_model_calls,
    }


def _trigger(execution: Execution) -> dict[str, str]:
    """What started a run: its type and source, and a line for people."""
    from stigmer.resources.provenance import describe

    trigger = execution.spec.trigger
    return {"type": trigger.type, "source": trigger.source, "text": describe(trigger)}


def actions(execution: Execution, asked: dict[str, Any] | None = None) -> list[str]:
    """What a person can do to an execution in its phase (``asked``: what its MCP server asks)."""
    phase = execution.status.phase
    if phase in FINISHED:
        return []
    if asked is not None and asked["kind"] == "elicitation":
        return ["respond", "cancel"]
    if asked is not None and asked["kind"] == "sign-in":  # `stigmer mcpserver login` continues it
        return ["cancel"]
    if asked is not None or phase == ExecutionPhase.WAITING_APPROVAL:
        return ["approve", "reject", "cancel"]
    return ["cancel", "resume"]


def waiting_approval(steps: list[ExecutionStep]) -> dict[str, Any] | None:
    """The approval a workflow run waits for, from its steps (the last one still waiting)."""
    for step in reversed(steps):
        if step.name.startswith(APPROVAL) and step.status == WAITING:
            request = input_of(step)
            return {"task": step.name[len(APPROVAL) :], "message": str(request.get("message", ""))}
    return None


def tool_approval(execution: AgentExecution) -> dict[str, Any]:
    """The tool call an agent run waits for a person to decide."""
    pending = execution.status.pending_approval
    return {
        "tool": pending.name,
        "server": pending.server,
        "arguments": plain(to_dict(pending.arguments)) if pending.HasField("arguments") else {},
    }


def input_request(execution: AgentExecution) -> dict[str, Any] | None:
    """What an MCP server asks a person during a tool call of an agent run, for the page's
    form: the schema's fields in the server's order, with the schema itself."""
    if not execution.status.HasField("pending_input"):
        return None
    pending = execution.status.pending_input
    schema = plain(to_dict(pending.requested_schema)) if pending.HasField("requested_schema") else {}
    return {
        "kind": pending.kind,
        "tool": pending.tool,
        "server": pending.server,
        "message": pending.message,
        "url": pending.url,
        "schema": schema,
        "fields": list(properties(schema, list(pending.fields))),
    }


def execution_detail(
    execution: Execution,
    *,
    workflow: Workflow | None = None,
    approval: dict[str, Any] | None = None,
    asked: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One execution: its row, its whole record, what can be done, and what it waits for
    (an approval, or what an MCP server asks during a tool call)."""
    return {
        "summary": execution_summary(execution),
        "record": record(execution),
        "actions": actions(execution, asked),
        "approval": approval,
        "input": asked,
        "graph": graph(workflow) if workflow is not None else None,
    }


def step_summary(step: ExecutionStep) -> dict[str, Any]:
    """A compact form of one durable step for the live event log (never the whole prompt)."""
    out, inp = output_of(step), input_of(step)
    text = ""
    if "text" in out:
        text = _short(out["text"])
    elif "outputs" in out:
        text = _short(out["outputs"]) if out["outputs"] else ""
    elif inp.get("message"):
        text = _short(inp["message"])
    elif "arguments" in inp:
        text = _short(inp["arguments"])
    return {
        "step": step.step,
        "name": step.name,
        "status": step.status,
        "phase": str(out.get("phase", "")),
        "error": step.error.splitlines()[0] if step.error else "",
        "startTime": when(step.start_time),
        "endTime": when(step.end_time),
        "text": text,
        "child": str(inp.get("childExecutionId", "")),
    }


__all__ = [
    "actions",
    "execution_detail",
    "execution_summary",
    "graph",
    "input_request",
    "inputs",
    "record",
    "resource_detail",
    "resource_summary",
    "step_summary",
    "tool_approval",
    "waiting_approval",
    "when",
]
