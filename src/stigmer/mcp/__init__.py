"""MCP client sessions (stdio and streamable HTTP) and the tools they offer agents.

Importing this package stays cheap: the ``mcp`` SDK is imported only when
:class:`ToolServers` opens servers.
"""

from stigmer.mcp.servers import ToolServers
from stigmer.mcp.toolset import ApprovalRequiredToolset, CombinedToolset, FilteredToolset, Toolset
from stigmer.mcp.types import McpServerError, ServerSpec, Tool, ToolResult

__all__ = [
    "ApprovalRequiredToolset",
    "CombinedToolset",
    "FilteredToolset",
    "McpServerError",
    "ServerSpec",
    "Tool",
    "ToolResult",
    "ToolServers",
    "Toolset",
]
