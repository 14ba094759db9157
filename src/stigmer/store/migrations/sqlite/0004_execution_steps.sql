-- Durable steps of executions, keyed by (execution, step): each model turn, tool call,
-- approval and child run is written once, when it happens; a resumed run replays them.
-- The conversation is assembled from these rows, so a run's record grows linearly.

CREATE TABLE execution_steps (
    seq INTEGER PRIMARY KEY,
    execution_id TEXT NOT NULL,
    step INTEGER NOT NULL CHECK (step > 0),
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('completed', 'failed', 'waiting')),
    input TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(input)),
    output TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(output)),
    error TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL DEFAULT '',
    UNIQUE (execution_id, step)
);

-- Leases: the worker that runs an execution, and until when; an expired lease lets
-- another worker take over. Kept out of the JSON status: they are the engine's, not the run's.
ALTER TABLE agent_executions ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_executions ADD COLUMN lease_expires_at TEXT NOT NULL DEFAULT '';
ALTER TABLE workflow_executions ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE workflow_executions ADD COLUMN lease_expires_at TEXT NOT NULL DEFAULT '';
CREATE INDEX agent_executions_queue ON agent_executions (phase, lease_expires_at, created_at);
CREATE INDEX workflow_executions_queue ON workflow_executions (phase, lease_expires_at, created_at);
