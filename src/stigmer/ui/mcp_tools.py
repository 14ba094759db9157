"""The dashboard's view of an MCP server as it is now: its live tools (the server is started)."""

from __future__ import annotations

import asyncio
from typing import Any

from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.ui.api import Call, route


@route("GET", "/api/mcpservers/{name}/tools")
def live_tools(call: Call) -> tuple[int, Any]:
    """What `stigmer mcpserver tools NAME -o json` prints; the server runs beside the dashboard.

    A server whose spec refers to secrets needs an environment: use the CLI's --env.
    """
    from stigmer.mcp.inventory import inventory
    from stigmer.runners.agent.environment import RunEnvironment
    from stigmer.runners.agent.tools import mcp_server_spec

    server = call.backend.get(McpServer, call.params["name"])
    spec = RunEnvironment().servers([mcp_server_spec(server)])[0]
    # Each request has a thread of its own (ThreadingHTTPServer): a loop of its own too.
    return 200, asyncio.run(inventory(spec)).to_dict()


__all__ = ["live_tools"]
