"""What one MCP server offers right now: its live tools, and what Stigmer makes of each.

``stigmer mcpserver tools NAME`` starts (or reaches) the server, lists every tool with
its description and input schema, and says whether each is enabled, needs approval and
is offered to models, with the reason when it is not. Names in ``enabledTools`` or
``approvalRequired`` that the server does not list are reported, not raised: this is the
command that shows the real names when one is mistyped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from stigmer.mcp.types import ServerSpec

NOT_ENABLED = "not in enabledTools"


@dataclass
class ToolEntry:
    """One live tool and what Stigmer does with it."""

    name: str
    description: str
    input_schema: dict[str, Any]
    enabled: bool
    needs_approval: bool
    offered: bool
    reason: str = ""
    task_support: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON/YAML form (camelCase, as resource files)."""
        data: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "enabled": self.enabled,
            "approvalRequired": self.needs_approval,
            "offered": self.offered,
        }
        if self.reason:
            data["reason"] = self.reason
        if self.task_support:
            data["taskSupport"] = self.task_support
        data["inputSchema"] = self.input_schema
        return data


@dataclass
class ServerInventory:
    """The live tools of one server, and configured names it does not list."""

    server: str
    tools: list[ToolEntry] = field(default_factory=list)
    # Field ("enabledTools", "approvalRequired") -> names the server does not list.
    unknown: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON/YAML form."""
        data: dict[str, Any] = {"server": self.server, "tools": [t.to_dict() for t in self.tools]}
        if self.unknown:
            data["unknownNames"] = self.unknown
        return data


async def inventory(spec: ServerSpec) -> ServerInventory:
    """Start or reach the server, list its tools, and close it.

    Raises:
        McpServerError: The server failed to start or to list its tools.
    """
    from stigmer.mcp.servers import ToolServers

    # Unfiltered: a typo in enabledTools must not stop the listing that shows the real names.
    bare = replace(spec, enabled_tools=[], approval_required=[])
    async with ToolServers([bare]) as servers:
        listed = servers.listed()
    enabled, approval = set(spec.enabled_tools), set(spec.approval_required)
    result = ServerInventory(spec.name)
    for tool in listed:
        is_enabled = not enabled or tool.name in enabled
        reason = tool.unsupported or ("" if is_enabled else NOT_ENABLED)
        result.tools.append(
            ToolEntry(
                name=tool.name,
                description=tool.description,
                input_schema=tool.input_schema,
                enabled=is_enabled,
                needs_approval=tool.name in approval,
                offered=is_enabled and not tool.unsupported,
                reason=reason,
                task_support=tool.task_support,
            )
        )
    names = {tool.name for tool in listed}
    for key, configured in (
        ("enabledTools", spec.enabled_tools),
        ("approvalRequired", spec.approval_required),
    ):
        missing = sorted(set(configured) - names)
        if missing:
            result.unknown[key] = missing
    return result


__all__ = ["NOT_ENABLED", "ServerInventory", "ToolEntry", "inventory"]
