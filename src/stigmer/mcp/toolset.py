"""Tool sets and the small wrappers they compose from: filtered, approval-required, combined.

A server's tools reach the model through a stack of wrappers, one concern each::

    CombinedToolset([
        FilteredToolset(ApprovalRequiredToolset(helpdesk, ["refund_order"]), ["find_order", "refund_order"]),
        github,
    ])

Wrappers check their names against what the wrapped set offers when they are built (the
servers are connected by then), so a typo in ``enabledTools`` or ``approvalRequired``
fails the run at start instead of silently offering, or not guarding, a tool.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from stigmer.mcp.types import McpServerError, Tool, ToolResult


class Toolset(Protocol):
    """Tools the model may call, and the way to call them."""

    @property
    def name(self) -> str:
        """Who offers the tools (a server name); errors name it."""
        ...

    def tools(self) -> list[Tool]:
        """The tools on offer, in a stable order."""
        ...

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call one tool; the tool's own failures come back as ``ToolResult(is_error=True)``.

        Raises:
            McpServerError: The server behind the tool is gone.
        """
        ...


def unknown_tool(name: str, offered: Iterable[str]) -> ToolResult:
    """The result for a call to a tool that is not on offer: an error the model can correct."""
    names = ", ".join(sorted(offered)) or "none"
    return ToolResult(f"unknown tool {name!r}; the tools on offer are: {names}", is_error=True)


def _offered(toolset: Toolset) -> list[str]:
    return [tool.spec.name for tool in toolset.tools()]


def _check_names(toolset: Toolset, names: Iterable[str], field: str) -> None:
    offered = _offered(toolset)
    missing = sorted(set(names) - set(offered))
    if missing:
        raise McpServerError(
            toolset.name,
            f"{field} names {', '.join(map(repr, missing))}, which the server does not offer; "
            f"it offers: {', '.join(offered) or 'no tools'}",
            hint=f"fix {field} of the McpServer (names are case-sensitive)",
        )


class FilteredToolset:
    """Only the named tools of ``inner``; calls to any other tool are refused.

    Raises:
        McpServerError: A name is not offered by ``inner``.
    """

    def __init__(self, inner: Toolset, enabled: Sequence[str]) -> None:
        _check_names(inner, enabled, "enabledTools")
        self._inner = inner
        self._enabled = frozenset(enabled)

    @property
    def name(self) -> str:
        """The name of the wrapped set."""
        return self._inner.name

    def tools(self) -> list[Tool]:
        """The enabled tools, in the order ``inner`` offers them."""
        return [tool for tool in self._inner.tools() if tool.spec.name in self._enabled]

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call an enabled tool; a disabled one never reaches the server."""
        if name not in self._enabled:
            return unknown_tool(name, self._enabled)
        return await self._inner.call(name, arguments)


class ApprovalRequiredToolset:
    """``inner``'s tools, the named ones marked ``needs_approval`` (the runner pauses on them).

    Marking only: the runner asks a person before it calls such a tool.

    Raises:
        McpServerError: A name is not offered by ``inner`` (a typo must not leave a tool unguarded).
    """

    def __init__(self, inner: Toolset, names: Sequence[str]) -> None:
        _check_names(inner, names, "approvalRequired")
        self._inner = inner
        self._names = frozenset(names)

    @property
    def name(self) -> str:
        """The name of the wrapped set."""
        return self._inner.name

    def tools(self) -> list[Tool]:
        """``inner``'s tools, with ``needs_approval`` set on the named ones."""
        return [
            dataclasses.replace(tool, needs_approval=True) if tool.spec.name in self._names else tool
            for tool in self._inner.tools()
        ]

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call the tool (approval, if needed, was given before this)."""
        return await self._inner.call(name, arguments)


class CombinedToolset:
    """Several tool sets as one; each call goes to the set that offers the tool.

    Raises:
        McpServerError: Two sets offer a tool of the same name.
    """

    def __init__(self, toolsets: Sequence[Toolset]) -> None:
        self._toolsets = list(toolsets)
        self._routes: dict[str, Toolset] = {}
        for toolset in self._toolsets:
            for tool_name in _offered(toolset):
                other = self._routes.get(tool_name)
                if other is not None:
                    raise McpServerError(
                        toolset.name,
                        f"tool {tool_name!r} is offered by both MCP servers "
                        f"{other.name!r} and {toolset.name!r}",
                        hint="tool names must be unique: leave it out of enabledTools on one of them",
                    )
                self._routes[tool_name] = toolset

    @property
    def name(self) -> str:
        """The names of the combined sets, joined with ``+``."""
        return "+".join(toolset.name for toolset in self._toolsets)

    def tools(self) -> list[Tool]:
        """Every set's tools, set by set."""
        return [tool for toolset in self._toolsets for tool in toolset.tools()]

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call the tool on the set that offers it."""
        toolset = self._routes.get(name)
        if toolset is None:
            return unknown_tool(name, self._routes)
        return await toolset.call(name, arguments)


__all__ = ["ApprovalRequiredToolset", "CombinedToolset", "FilteredToolset", "Toolset", "unknown_tool"]
