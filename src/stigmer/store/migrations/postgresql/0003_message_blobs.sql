-- The serialized resource message next to its JSON documents (see migrations/sqlite/0003).

ALTER TABLE agents ADD COLUMN message BYTEA;
ALTER TABLE agent_instances ADD COLUMN message BYTEA;
ALTER TABLE workflows ADD COLUMN message BYTEA;
ALTER TABLE workflow_instances ADD COLUMN message BYTEA;
ALTER TABLE sessions ADD COLUMN message BYTEA;
ALTER TABLE skills ADD COLUMN message BYTEA;
ALTER TABLE mcp_servers ADD COLUMN message BYTEA;
ALTER TABLE environments ADD COLUMN message BYTEA;
ALTER TABLE execution_contexts ADD COLUMN message BYTEA;
ALTER TABLE agent_executions ADD COLUMN message BYTEA;
ALTER TABLE workflow_executions ADD COLUMN message BYTEA;
