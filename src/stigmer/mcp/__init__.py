"""MCP client sessions (stdio and streamable HTTP) and the tools they offer agents.

Importing this package stays cheap: it names only the plain types. The client lives in
:mod:`stigmer.mcp.servers` (``ToolServers``), and the ``mcp`` SDK is imported only when
servers are opened; wrappers are in :mod:`stigmer.mcp.toolset`.
"""

from stigmer.mcp.types import McpServerError, ServerSpec, Tool, ToolResult

__all__ = ["McpServerError", "ServerSpec", "Tool", "ToolResult"]
