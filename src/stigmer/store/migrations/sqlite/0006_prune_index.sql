-- Pruning finds finished executions by when they were last written (a finished run is
-- never written again, so that is when it ended), oldest first, in keyset pages.

CREATE INDEX agent_executions_finished ON agent_executions (phase, updated_at, id);
CREATE INDEX workflow_executions_finished ON workflow_executions (phase, updated_at, id);
