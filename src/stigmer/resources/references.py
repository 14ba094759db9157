"""Which other resources a resource names, and where.

References are kept by name and resolved when something runs, so files can be applied
in any order; this module lists them so `apply` can warn and `get` can show them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stigmer.api.agent.v1.agent_pb2 import Agent, McpServerUsage
from stigmer.api.agentinstance.v1.agentinstance_pb2 import AgentInstance
from stigmer.api.session.v1.session_pb2 import Session
from stigmer.api.workflow.v1.workflow_pb2 import Task, Workflow
from stigmer.api.workflowinstance.v1.workflowinstance_pb2 import WorkflowInstance
from stigmer.resources.kinds import Resource, kind_info
from stigmer.resources.task_kinds import kind_of


@dataclass(frozen=True)
class Ref:
    """A name of another resource, held in a field."""

    kind: str
    name: str
    field: str


def _mcp(usages: Any, field: str) -> list[Ref]:
    out = []
    for i, usage in enumerate(usages):
        assert isinstance(usage, McpServerUsage)
        if usage.ref:
            out.append(Ref("McpServer", usage.ref, f"{field}[{i}].ref"))
    return out


def _agent(agent: Agent) -> list[Ref]:
    spec = agent.spec
    refs = _mcp(spec.mcp_servers, "spec.mcpServers")
    refs += [Ref("Skill", s, f"spec.skills[{i}]") for i, s in enumerate(spec.skills)]
    for i, sub in enumerate(spec.sub_agents):
        field = f"spec.subAgents[{i}]"
        if sub.ref:
            refs.append(Ref("Agent", sub.ref, f"{field}.ref"))
        refs += _mcp(sub.mcp_servers, f"{field}.mcpServers")
        refs += [Ref("Skill", s, f"{field}.skills[{j}]") for j, s in enumerate(sub.skills)]
    return refs


def _task(task: Task, field: str) -> list[Ref]:
    # Imported for workflows only: it brings the expression language, which reading the
    # references of agents (every `stigmer get agents`) never needs.
    from stigmer.resources import task_fields

    kind = kind_of(task)
    if kind is None:
        return []
    refs = [Ref(resource, name, where) for resource, name, where in kind.references(task, field)]
    for where, item in task_fields.item_tasks(task, field):
        refs += _task(item, where)
    return refs


def _workflow(workflow: Workflow) -> list[Ref]:
    return [ref for i, t in enumerate(workflow.spec.tasks) for ref in _task(t, f"spec.tasks[{i}]")]


def _agent_instance(instance: AgentInstance) -> list[Ref]:
    refs = [Ref("Agent", instance.spec.agent, "spec.agent")]
    if instance.spec.environment:
        refs.append(Ref("Environment", instance.spec.environment, "spec.environment"))
    return refs


def _workflow_instance(instance: WorkflowInstance) -> list[Ref]:
    refs = [Ref("Workflow", instance.spec.workflow, "spec.workflow")]
    if instance.spec.environment:
        refs.append(Ref("Environment", instance.spec.environment, "spec.environment"))
    return refs


def _session(session: Session) -> list[Ref]:
    return [Ref("Agent", session.spec.agent, "spec.agent")] if session.spec.agent else []


def _trigger(resource: Any) -> list[Ref]:
    spec = resource.spec
    refs = []
    if spec.workflow:
        refs.append(Ref("Workflow", spec.workflow, "spec.workflow"))
    if getattr(spec, "agent", ""):
        refs.append(Ref("Agent", spec.agent, "spec.agent"))
    if spec.environment:
        refs.append(Ref("Environment", spec.environment, "spec.environment"))
    return refs


_BY_KIND: dict[str, Callable[[Any], list[Ref]]] = {
    "Agent": _agent,
    "AgentInstance": _agent_instance,
    "Workflow": _workflow,
    "WorkflowInstance": _workflow_instance,
    "Session": _session,
    "Schedule": _trigger,
    "Webhook": _trigger,
}


def references(resource: Resource) -> list[Ref]:
    """Every reference a resource holds, in field order."""
    find = _BY_KIND.get(kind_info(resource).kind)
    return find(resource) if find else []


def has_reference_status(kind: str) -> bool:
    """Whether this kind's status lists its references."""
    return kind in _BY_KIND


__all__ = ["Ref", "has_reference_status", "references"]
