"""Trigger fires: one row per (schedule, fire time) or (webhook, delivery id) that started a run.

The row is written in the transaction that writes the execution, and its primary key makes a
second attempt at the same fire fail there: that is what makes a fire start at most one run.
"""

from __future__ import annotations

from stigmer.store.connection import Connection


def record_fire_txn(conn: Connection, source: str, fire_key: str, execution_id: str, created_at: str) -> bool:
    """Record that ``source`` fired for ``fire_key``; False (and nothing written) when it already had."""
    cursor = conn.execute(
        "INSERT INTO trigger_fires (source, fire_key, execution_id, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (source, fire_key) DO NOTHING",
        (source, fire_key, execution_id, created_at),
    )
    return cursor.rowcount == 1


def fired_execution(conn: Connection, source: str, fire_key: str) -> str | None:
    """The execution a fire started, None when it has not fired."""
    row = conn.execute(
        "SELECT execution_id FROM trigger_fires WHERE source = ? AND fire_key = ?", (source, fire_key)
    ).fetchone()
    return str(row[0]) if row else None


__all__ = ["fired_execution", "record_fire_txn"]
