-- One table per resource kind. Metadata in columns, spec and status as JSON (protobuf's
-- JSON mapping, camelCase), generated columns for the fields that are queried.

CREATE TABLE agents (
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
    updated_by TEXT NOT NULL DEFAULT ''
);

CREATE TABLE agent_instances (
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
    agent_ref TEXT GENERATED ALWAYS AS (json_extract(spec, '$.agent')) VIRTUAL
);
CREATE INDEX agent_instances_agent ON agent_instances (agent_ref);

CREATE TABLE workflows (
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
    updated_by TEXT NOT NULL DEFAULT ''
);

CREATE TABLE workflow_instances (
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
    workflow_ref TEXT GENERATED ALWAYS AS (json_extract(spec, '$.workflow')) VIRTUAL
);
CREATE INDEX workflow_instances_workflow ON workflow_instances (workflow_ref);

CREATE TABLE sessions (
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
    agent_ref TEXT GENERATED ALWAYS AS (json_extract(spec, '$.agent')) VIRTUAL
);
CREATE INDEX sessions_agent ON sessions (agent_ref);

CREATE TABLE skills (
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
    updated_by TEXT NOT NULL DEFAULT ''
);

CREATE TABLE mcp_servers (
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
    updated_by TEXT NOT NULL DEFAULT ''
);

CREATE TABLE environments (
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
    updated_by TEXT NOT NULL DEFAULT ''
);

CREATE TABLE execution_contexts (
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
    execution_id TEXT GENERATED ALWAYS AS (json_extract(spec, '$.executionId')) VIRTUAL
);
CREATE UNIQUE INDEX execution_contexts_execution ON execution_contexts (execution_id);

-- Executions are listed newest first: keyset on (created_at, id).
CREATE TABLE agent_executions (
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
    phase TEXT GENERATED ALWAYS AS (json_extract(status, '$.phase')) VIRTUAL,
    parent_execution_id TEXT GENERATED ALWAYS AS (json_extract(spec, '$.parentExecutionId')) VIRTUAL,
    session_ref TEXT GENERATED ALWAYS AS (json_extract(spec, '$.session')) VIRTUAL,
    definition_ref TEXT GENERATED ALWAYS AS (json_extract(spec, '$.agent')) VIRTUAL
);
CREATE INDEX agent_executions_created ON agent_executions (created_at, id);
CREATE INDEX agent_executions_phase ON agent_executions (phase, created_at, id);
CREATE INDEX agent_executions_parent ON agent_executions (parent_execution_id, created_at, id);
CREATE INDEX agent_executions_session ON agent_executions (session_ref, created_at, id);
CREATE INDEX agent_executions_definition ON agent_executions (definition_ref, created_at, id);

CREATE TABLE workflow_executions (
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
    phase TEXT GENERATED ALWAYS AS (json_extract(status, '$.phase')) VIRTUAL,
    parent_execution_id TEXT GENERATED ALWAYS AS (json_extract(spec, '$.parentExecutionId')) VIRTUAL,
    session_ref TEXT GENERATED ALWAYS AS (NULL) VIRTUAL,
    definition_ref TEXT GENERATED ALWAYS AS (json_extract(spec, '$.workflow')) VIRTUAL
);
CREATE INDEX workflow_executions_created ON workflow_executions (created_at, id);
CREATE INDEX workflow_executions_phase ON workflow_executions (phase, created_at, id);
CREATE INDEX workflow_executions_parent ON workflow_executions (parent_execution_id, created_at, id);
CREATE INDEX workflow_executions_definition ON workflow_executions (definition_ref, created_at, id);

-- History: the whole resource after every write, numbered per resource.
CREATE TABLE api_resource_versions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    resource_kind TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource_slug TEXT NOT NULL,
    version INTEGER NOT NULL,
    operation TEXT NOT NULL CHECK (operation IN ('create', 'update', 'delete', 'rollback', 'import')),
    snapshot TEXT NOT NULL CHECK (json_valid(snapshot)),
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    UNIQUE (resource_kind, resource_id, version)
);
CREATE INDEX api_resource_versions_slug ON api_resource_versions (resource_kind, resource_slug, seq);
