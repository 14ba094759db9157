"""The MCP servers of one agent run, open for its duration: their tools, and calls to them."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

import anyio

from stigmer.mcp.toolset import ApprovalRequiredToolset, CombinedToolset, FilteredToolset, Toolset
from stigmer.mcp.types import ListedTool, McpServerError, ServerSpec, Tool, ToolResult

if TYPE_CHECKING:
    from stigmer.mcp.connection import ServerConnection

# How long servers get to shut down on their own before they are cut off (a stdio server
# that ignores its closed stdin is then terminated, then killed, by the SDK).
DEFAULT_CLOSE_TIMEOUT_S = 10.0


class ToolServers:
    """Start (or connect to) MCP servers, offer their tools, route calls to them.

    All servers start in parallel on enter; leaving closes every session and stops every
    stdio server, also after errors::

        async with ToolServers(specs) as servers:
            tools = servers.tools()
            result = await servers.call("find_order", {"id": "A-1"})

    Each server's tools pass through :class:`~stigmer.mcp.toolset.ApprovalRequiredToolset`
    (``approval_required``) and :class:`~stigmer.mcp.toolset.FilteredToolset`
    (``enabled_tools``), then all are combined into one :attr:`toolset`.

    Raises (on enter):
        McpServerError: A server failed to start in time, or its spec is inconsistent, or
            two servers offer the same tool name. It names the server and shows the tail
            of its stderr; the other servers are closed first.
    """

    def __init__(
        self, specs: Sequence[ServerSpec], *, close_timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S
    ) -> None:
        _check_specs(specs)
        self._specs = list(specs)
        self._close_timeout_s = close_timeout_s
        self._connections: list[ServerConnection] = []
        self._toolset: Toolset | None = None
        self._stack: AsyncExitStack | None = None

    async def __aenter__(self) -> ToolServers:
        if self._stack is not None:
            raise RuntimeError("ToolServers is already open")
        # Imported here: the SDK is heavy, and only runs that use MCP servers need it.
        from stigmer.mcp.connection import ServerConnection

        stack = AsyncExitStack()
        self._stack = stack
        try:
            for spec in self._specs:
                errlog = None if spec.url else stack.enter_context(_stderr_file())
                self._connections.append(ServerConnection(spec, errlog))
            group = await stack.enter_async_context(anyio.create_task_group())
            # Run in reverse on exit: the sessions end, anything left is cancelled, the group ends.
            stack.callback(group.cancel_scope.cancel)
            stack.push_async_callback(self._close_connections)
            for connection in self._connections:
                group.start_soon(connection.serve, name=f"MCP server {connection.name}")
            async with anyio.create_task_group() as waiting:
                for connection in self._connections:
                    waiting.start_soon(self._wait_started, connection, waiting.cancel_scope)
            error = self._start_error()
        except BaseException:
            await self._close()
            raise
        if error is not None:
            await self._close()
            raise error
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close()

    @property
    def toolset(self) -> Toolset:
        """Every server's tools as one tool set, for code that composes further wrappers."""
        if self._toolset is None:
            raise RuntimeError("ToolServers is not open: use `async with ToolServers(specs) as servers`")
        return self._toolset

    def tools(self) -> list[Tool]:
        """The tools offered to the model: enabled ones only, approval marked, server by server."""
        return self.toolset.tools()

    def listed(self) -> list[ListedTool]:
        """Every tool every server lists, offered or not (enabledTools is not applied)."""
        return [tool for connection in self._connections for tool in connection.listed()]

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call a tool on the server that offers it.

        The tool's own error, an unknown or disabled tool name and a call that outruns the
        server's ``tool_timeout_s`` come back as ``ToolResult(is_error=True)``, so the model
        can react.

        Raises:
            McpServerError: The server died; the error shows the tail of its stderr.
        """
        return await self.toolset.call(name, arguments)

    @staticmethod
    async def _wait_started(connection: ServerConnection, waiting: anyio.CancelScope) -> None:
        await connection.wait_started()
        if connection.failed:
            waiting.cancel()  # one failure fails the start: no need to wait for the others

    def _start_error(self) -> McpServerError | None:
        failed = [connection for connection in self._connections if connection.failed]
        if failed:
            error = failed[0].error()
            if len(failed) > 1:
                error.add_note("These MCP servers failed too: " + ", ".join(c.name for c in failed[1:]))
            return error
        toolsets: list[Toolset] = []
        try:
            for connection in self._connections:
                toolset: Toolset = connection
                if connection.spec.approval_required:
                    toolset = ApprovalRequiredToolset(toolset, connection.spec.approval_required)
                if connection.spec.enabled_tools:
                    toolset = FilteredToolset(toolset, connection.spec.enabled_tools)
                toolsets.append(toolset)
            self._toolset = CombinedToolset(toolsets)
        except McpServerError as error:
            return error
        return None

    async def _close_connections(self) -> None:
        # In parallel: stopping a stdio server can take seconds (the SDK's grace periods).
        async with anyio.create_task_group() as group:
            for connection in self._connections:
                group.start_soon(connection.close, self._close_timeout_s)

    async def _close(self) -> None:
        # The tool set stays: calls after the end raise McpServerError ("is closed").
        stack, self._stack = self._stack, None
        try:
            if stack is not None:
                # Not given the body's exception: the task group would wrap it in an
                # ExceptionGroup. The sessions end first (the callback), so the group has
                # nothing left to cancel.
                await stack.aclose()
        finally:
            self._connections = []


def _stderr_file() -> TextIO:
    # A real file, not a pipe: the child writes to it directly, and a full pipe nobody reads
    # would block a chatty server.
    return tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")


def _check_specs(specs: Sequence[ServerSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise McpServerError(spec.name, "is listed twice", hint="give each MCP server its own name")
        seen.add(spec.name)
        if bool(spec.command) == bool(spec.url):
            raise McpServerError(
                spec.name,
                "needs exactly one of a command (stdio) or a url (streamable HTTP)",
                hint="set spec.stdio.command or spec.http.url of the McpServer",
            )


__all__ = ["DEFAULT_CLOSE_TIMEOUT_S", "ToolServers"]
