"""The tools a run offers its model: MCP servers' tools and sub-agents."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from stigmer.api.agent.v1.agent_pb2 import Agent, McpServerUsage
from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.backend.protocol import RunJournal
from stigmer.errors import InvalidArgument, NotFound
from stigmer.mcp.types import DEFAULT_TOOL_TIMEOUT_S, ServerSpec, Tool, ToolResult
from stigmer.models.types import Model, ToolSpec
from stigmer.resources.durations import parse_duration
from stigmer.runners.agent.sign_ins import oauth_settings


class ToolHost(Protocol):
    """Where tool calls go (MCP servers); a fake in tests that need no server."""

    def tools(self) -> list[Tool]: ...

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult: ...


class NoTools:
    """A run with no tools."""

    def tools(self) -> list[Tool]:
        return []

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        return ToolResult(f"unknown tool {name!r}", is_error=True)


@dataclass
class SubAgentTool:
    """A sub-agent offered as a tool: calling it runs a child execution of that agent."""

    agent: str
    spec: ToolSpec


def server_specs(backend: RunJournal, agent: Agent) -> list[ServerSpec]:
    """Every MCP server the agent uses, references resolved, filters applied.

    Raises:
        NotFound: A referenced McpServer does not exist (named in the error).
    """
    specs = []
    for i, usage in enumerate(agent.spec.mcp_servers):
        specs.append(_spec(backend, agent, usage, f"spec.mcpServers[{i}]"))
    return specs


def mcp_server_spec(server: McpServer) -> ServerSpec:
    """How to start or reach an McpServer resource, with its own filters (references unresolved).

    Raises:
        InvalidArgument: It has no transport, or a malformed timeout.
    """
    return _spec(None, Agent(), McpServerUsage(ref=server.metadata.name), "spec", server=server)


def _spec(
    backend: RunJournal | None,
    agent: Agent,
    usage: McpServerUsage,
    field: str,
    *,
    server: McpServer | None = None,
) -> ServerSpec:
    if usage.ref:
        if server is None:
            assert backend is not None
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
        roots = list(s.roots)
        sampling = s.sampling
    else:
        name, transport = usage.name, usage.WhichOneof("transport")
        stdio, http = usage.stdio, usage.http
        enabled, approval, timeout = list(usage.enabled_tools), list(usage.approval_required), usage.timeout
        roots = list(usage.roots)
        sampling = ""
    spec = ServerSpec(
        name=name,
        roots=[root_uri(root) for root in roots],
        sampling=sampling,
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
        if usage.ref and server is not None:
            spec.oauth = oauth_settings(server)
    else:
        raise InvalidArgument(f"MCP server {name!r} has no transport", field=field)
    return spec


def with_sampler(specs: list[ServerSpec], model: Model) -> list[ServerSpec]:
    """The specs, those whose McpServer does not deny sampling answered by ``model`` (the
    agent's; with ``ask``, once a person approves)."""
    from stigmer.mcp.sampling import DENY, ModelSampler, policy

    return [s if policy(s.sampling) == DENY else replace(s, sampler=ModelSampler(model)) for s in specs]


def root_uri(root: str) -> str:
    """A root as MCP wants it: a ``file://`` URI (a path is made absolute first)."""
    if "://" in root:
        if not root.startswith("file://"):
            raise InvalidArgument(
                f"MCP root {root!r} is not a file:// URI", field="spec.roots", hint="give a directory path"
            )
        return root
    return Path(root).expanduser().resolve().as_uri()


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


__all__ = ["SubAgentTool", "mcp_server_spec", "root_uri", "server_specs", "sub_agent_tools", "with_sampler"]
