-- Blobs that executions produce or read, stored once per content hash and execution.

CREATE TABLE artifacts (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    execution_id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    content_type TEXT NOT NULL DEFAULT 'application/octet-stream',
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX artifacts_execution ON artifacts (execution_id, name);
CREATE INDEX artifacts_sha256 ON artifacts (sha256);
