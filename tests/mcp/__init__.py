"""MCP client layer: real servers over stdio and streamable HTTP."""
