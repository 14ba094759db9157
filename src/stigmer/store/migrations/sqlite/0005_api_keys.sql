-- API keys of `stigmer server`. A key is shown once, when it is created; only a salted
-- SHA-256 of its secret part is kept. The id is the key's public part (the token reads
-- `sk_<id>_<secret>`), so a request finds its row directly. Revoked keys stay, for the
-- record, and free their name for a new key.

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    revoked_at TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at = '';
