"""The tools a run offers its model: MCP servers' tools and sub-agents."""

from __future__ import annotations

from dataclasses import dataclass

from stigmer.api.agent.v1.agent_pb2 import Agent, McpServerUsage
from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.backend.protocol import Backend
from stigmer.errors import InvalidArgument, NotFound
from stigmer.mcp.types import DEFAULT_TOOL_TIMEOUT_S, ServerSpec
from stigmer.models.types import ToolSpec
from stigmer.resources.durations import parse_duration
from stigmer.runners.agent.sign_ins import oauth_settings


@dataclass
class SubAgentTool:
    """A sub-agent offered as a tool: calling it runs a child execution of that agent."""

    agent: str
    spec: ToolSpec


def server_specs(backend: Backend, agent: Agent) -> list[ServerSpec]:
    """Every MCP server the agent uses, references resolved, filters applied.

    Raises:
        NotFound: A referenced McpServer does not exist (named in the error).
    """
    specs = []
    for i, usage in enumerate(agent.spec.mcp_servers):
        specs.append(_spec(backend, agent, usage, f"spec.mcpServers[{i}]"))
    return specs


def _spec(backend: Backend, agent: Agent, usage: McpServerUsage, field: str) -> ServerSpec:
    if usage.ref:
        try:
            server = backend.get(McpServer, usage.ref)
        except NotFound:
            raise NotFound(
                f"agent {agent.metadata.name!r} uses MCP server {usage.ref!r}, which does not exist",
                hint=f"apply an McpServer named {usage.ref!r}, or remove it from {field}",
            ) from None
        s = server.spec
        name, transport = server.metadata.name, s.WhichOneof("transport")
        stdio, http = s.stdio, s.http
        enabled = list(usage.enabled_tools or s.enabled_tools)
        approval = sorted({*s.approval_required, *usage.approval_required})
        timeout = usage.timeout or s.timeout
    else:
        name, transport = usage.name, usage.WhichOneof("transport")
        stdio, http = usage.stdio, usage.http
        enabled, approval, timeout = list(usage.enabled_tools), list(usage.approval_required), usage.timeout
    spec = ServerSpec(
        name=name,
        enabled_tools=enabled,
        approval_required=approval,
        tool_timeout_s=parse_duration(timeout, field=f"{field}.timeout")
        if timeout
        else DEFAULT_TOOL_TIMEOUT_S,
    )
    if transport == "stdio":
        spec.command, spec.args = stdio.command, list(stdio.args)
        spec.env, spec.working_dir = dict(stdio.env), stdio.working_dir
    elif transport == "http":
        spec.url, spec.headers = http.url, dict(http.headers)
        if usage.ref:
            spec.oauth = oauth_settings(server)
    else:
        raise InvalidArgument(f"MCP server {name!r} has no transport", field=field)
    return spec


def sub_agent_tools(agent: Agent) -> list[SubAgentTool]:
    """The agent's sub-agents as tools taking one argument, ``message``.

    Raises:
        InvalidArgument: An inline sub-agent (only references to Agent resources run today).
    """
    tools = []
    for i, sub in enumerate(agent.spec.sub_agents):
        if not sub.ref:
            raise InvalidArgument(
                f"sub-agent {sub.name!r} is defined inline; sub-agents run as Agent resources",
                field=f"spec.subAgents[{i}]",
                hint=f"apply an Agent named {sub.name!r} and refer to it: subAgents: [{sub.name}]",
            )
        description = sub.description or f"Ask the agent {sub.ref!r}; it answers with text."
        parameters = {
            "type": "object",
            "properties": {"message": {"type": "string", "description": "What to ask it."}},
            "required": ["message"],
        }
        tools.append(SubAgentTool(sub.ref, ToolSpec(sub.ref.replace(" ", "_"), description, parameters)))
    return tools


__all__ = ["SubAgentTool", "server_specs", "sub_agent_tools"]
