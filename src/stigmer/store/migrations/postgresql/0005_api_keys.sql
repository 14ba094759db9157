-- API keys of `stigmer server`: a salted SHA-256 of the secret part, never the key
-- (see migrations/sqlite/0005).

CREATE TABLE api_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    salt BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    revoked_at TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at = '';
