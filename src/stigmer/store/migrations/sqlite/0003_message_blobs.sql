-- The serialized resource message next to its JSON documents. JSON stays the source for
-- queries, generated columns and people reading the file; the blob makes reads cheap
-- (decoding protobuf JSON in Python costs ~85 us a resource, the binary form ~5 us).
-- NULL in rows written before this migration: readers fall back to the JSON.

ALTER TABLE agents ADD COLUMN message BLOB;
ALTER TABLE agent_instances ADD COLUMN message BLOB;
ALTER TABLE workflows ADD COLUMN message BLOB;
ALTER TABLE workflow_instances ADD COLUMN message BLOB;
ALTER TABLE sessions ADD COLUMN message BLOB;
ALTER TABLE skills ADD COLUMN message BLOB;
ALTER TABLE mcp_servers ADD COLUMN message BLOB;
ALTER TABLE environments ADD COLUMN message BLOB;
ALTER TABLE execution_contexts ADD COLUMN message BLOB;
ALTER TABLE agent_executions ADD COLUMN message BLOB;
ALTER TABLE workflow_executions ADD COLUMN message BLOB;
