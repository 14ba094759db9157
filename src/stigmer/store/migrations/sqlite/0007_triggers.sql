-- Triggers: Schedule and Webhook resources, and the one row per fire that makes each
-- (schedule, fire time) and each (webhook, delivery id) start at most one run.

CREATE TABLE schedules (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL CHECK (version > 0),
    labels TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),
    annotations TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(annotations)),
    tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    spec TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(spec)),
    status TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(status)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL DEFAULT '',
    -- The serialized message next to the JSON, as for every kind (0003).
    message BLOB
);

CREATE TABLE webhooks (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL CHECK (version > 0),
    labels TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),
    annotations TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(annotations)),
    tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    spec TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(spec)),
    status TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(status)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL DEFAULT '',
    -- The serialized message next to the JSON, as for every kind (0003).
    message BLOB
);

-- Written in the same transaction as the execution it started: a second worker (or a
-- replayed delivery) that tries the same key fails on the primary key and starts nothing.
-- Kept when the execution is pruned, so a pruned fire never fires again.
CREATE TABLE trigger_fires (
    source TEXT NOT NULL,
    fire_key TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (source, fire_key)
) WITHOUT ROWID;

-- Runs by what started them (`execution list --trigger`, a schedule's last run), newest
-- first, without reading every run.
CREATE INDEX agent_executions_trigger ON agent_executions (json_extract(labels, '$."stigmer.ai/trigger"'), created_at, id);
CREATE INDEX agent_executions_schedule ON agent_executions (json_extract(labels, '$."stigmer.ai/schedule"'), created_at, id);
CREATE INDEX agent_executions_webhook ON agent_executions (json_extract(labels, '$."stigmer.ai/webhook"'), created_at, id);
CREATE INDEX workflow_executions_trigger ON workflow_executions (json_extract(labels, '$."stigmer.ai/trigger"'), created_at, id);
CREATE INDEX workflow_executions_schedule ON workflow_executions (json_extract(labels, '$."stigmer.ai/schedule"'), created_at, id);
CREATE INDEX workflow_executions_webhook ON workflow_executions (json_extract(labels, '$."stigmer.ai/webhook"'), created_at, id);
