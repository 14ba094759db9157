-- OAuth sign-ins of MCP servers, sealed with the master key (see migrations/sqlite/0008).

CREATE TABLE mcp_sign_ins (
    server_id TEXT COLLATE "C" PRIMARY KEY REFERENCES mcp_servers (id) ON DELETE CASCADE,
    sealed TEXT NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL DEFAULT '',
    refreshable INTEGER NOT NULL DEFAULT 0,
    scope TEXT NOT NULL DEFAULT '',
    updated_at TEXT COLLATE "C" NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);
