"""Terse resource builders for tests: ``agent("support-bot", skills=["notes"])``.

Keyword arguments are spec fields, written as in resource files (the short forms too:
``model="anthropic/claude-sonnet-4-5"``, ``mcpServers=["helpdesk"]``, ``onError: continue``);
snake_case names are accepted for top-level fields. Builders check shape only, so tests
can build resources the backend must refuse.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.agentinstance.v1.agentinstance_pb2 import AgentInstance
from stigmer.api.environment.v1.environment_pb2 import Environment
from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.api.session.v1.session_pb2 import Session
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.api.workflow.v1.workflow_pb2 import Workflow
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.api.workflowinstance.v1.workflowinstance_pb2 import WorkflowInstance
from stigmer.backend.protocol import Backend
from stigmer.resources.codec import from_dict
from stigmer.resources.kinds import API_VERSION, Resource, kind_info
from stigmer.resources.normalise import normalise

R = TypeVar("R", bound=Resource)
Labels = dict[str, str] | None


def _camel(key: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)


def build(cls: type[R], name: str, spec: dict[str, Any], *, labels: Labels = None) -> R:
    """Any resource from its name and spec, through the same short forms files use."""
    kind = kind_info(cls).kind
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = labels
    data = {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": metadata,
        "spec": {_camel(k): v for k, v in spec.items()},
    }
    return from_dict(cls, normalise(kind, data))


def agent(
    name: str, instructions: str = "You answer questions.", *, labels: Labels = None, **spec: Any
) -> Agent:
    return build(Agent, name, {"instructions": instructions, **spec}, labels=labels)


def workflow(
    name: str, tasks: list[dict[str, Any]] | None = None, *, labels: Labels = None, **spec: Any
) -> Workflow:
    """A workflow; by default one ``set`` task, which needs nothing else to exist."""
    tasks = tasks if tasks is not None else [{"name": "greet", "set": {"greeting": "hello"}}]
    return build(Workflow, name, {"tasks": tasks, **spec}, labels=labels)


def skill(name: str, content: str = "# Notes\nBe kind.", *, labels: Labels = None, **spec: Any) -> Skill:
    return build(Skill, name, {"content": content, **spec}, labels=labels)


def mcp_server(name: str, *, labels: Labels = None, **spec: Any) -> McpServer:
    """An MCP server; stdio ``python server.py`` unless a transport is given (``stdio=None`` for none)."""
    if "stdio" not in spec and "http" not in spec:
        spec["stdio"] = {"command": "python", "args": ["server.py"]}
    return build(McpServer, name, spec, labels=labels)


def environment(name: str, *, labels: Labels = None, **spec: Any) -> Environment:
    return build(Environment, name, spec, labels=labels)


def session(name: str, agent: str = "", *, labels: Labels = None, **spec: Any) -> Session:
    return build(Session, name, {"agent": agent, **spec} if agent else spec, labels=labels)


def agent_instance(name: str, agent: str, *, labels: Labels = None, **spec: Any) -> AgentInstance:
    return build(AgentInstance, name, {"agent": agent, **spec}, labels=labels)


def workflow_instance(name: str, workflow: str, *, labels: Labels = None, **spec: Any) -> WorkflowInstance:
    return build(WorkflowInstance, name, {"workflow": workflow, **spec}, labels=labels)


def agent_execution(
    agent: str, message: str = "hello", *, labels: Labels = None, **spec: Any
) -> AgentExecution:
    """A request to run ``agent``; the backend assigns id and name."""
    return build(AgentExecution, "", {"agent": agent, "message": message, **spec}, labels=labels)


def workflow_execution(workflow: str, *, labels: Labels = None, **spec: Any) -> WorkflowExecution:
    return build(WorkflowExecution, "", {"workflow": workflow, **spec}, labels=labels)


def counts(backend: Backend) -> dict[str, int]:
    """How many of each kind the backend holds (history entries under ApiResourceVersion)."""
    return dict(backend.info().counts)
