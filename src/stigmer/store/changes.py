"""Telling watchers that an execution changed: its status was written or a step recorded.

On PostgreSQL a write transaction notifies the channel :data:`CHANNEL` with the execution's
id (delivered when it commits, once per id however many writes), so a server following the
run wakes at once instead of at its next poll, whichever process wrote (see
:class:`stigmer.store.postgres.ChangeListener`). SQLite has no notifications: its watchers
poll.
"""

from __future__ import annotations

from stigmer.store.connection import Connection

CHANNEL = "stigmer_executions"
EXECUTION_TABLES = frozenset({"agent_executions", "workflow_executions"})


def notify_txn(conn: Connection, execution_id: str) -> None:
    """Tell the listeners of the database that ``execution_id`` changed, at commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(f"SELECT pg_notify('{CHANNEL}', ?)", (execution_id,))


__all__ = ["CHANNEL", "EXECUTION_TABLES", "notify_txn"]
