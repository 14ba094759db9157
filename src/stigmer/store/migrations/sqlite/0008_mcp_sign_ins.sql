-- OAuth sign-ins of MCP servers (`stigmer mcpserver login`): one row per McpServer, its
-- tokens and client registration sealed with the master key like Environment secrets.
-- Expiry, scope and whether a refresh token is held are kept beside it, in the clear, so
-- `get mcpservers` shows them without opening anything.

CREATE TABLE mcp_sign_ins (
    server_id TEXT PRIMARY KEY REFERENCES mcp_servers (id) ON DELETE CASCADE,
    sealed TEXT NOT NULL,
    expires_at TEXT NOT NULL DEFAULT '',
    refreshable INTEGER NOT NULL DEFAULT 0,
    scope TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);
