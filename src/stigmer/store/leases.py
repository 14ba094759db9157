"""Leases on executions: which worker runs one, and until when.

A PENDING execution, or a RUNNING one whose lease has expired (its worker died), can be
claimed; the claiming worker renews its lease while it works. Times are fixed-width
UTC text, so they compare as strings.
"""

from __future__ import annotations

import sqlite3

from stigmer.store.records import _ident


def next_claimable(conn: sqlite3.Connection, table: str, now: str) -> str | None:
    """The oldest execution that a worker may take now, or None."""
    row = conn.execute(
        f"SELECT id FROM {_ident(table)} WHERE (phase = 'PENDING' OR phase = 'RUNNING') "
        "AND lease_expires_at < ? ORDER BY created_at LIMIT 1",
        (now,),
    ).fetchone()
    return str(row[0]) if row else None


def live_leases(conn: sqlite3.Connection, table: str, now: str, limit: int = 100) -> list[tuple[str, str]]:
    """(id, owner) of running executions whose lease has not expired, oldest first."""
    rows = conn.execute(
        f"SELECT id, lease_owner FROM {_ident(table)} WHERE phase = 'RUNNING' AND lease_expires_at >= ? "
        "ORDER BY created_at LIMIT ?",
        (now, limit),
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def phase_and_owner(conn: sqlite3.Connection, table: str, execution_id: str) -> tuple[str, str] | None:
    """(phase, lease owner) of an execution in one indexed read, or None when it does not exist."""
    row = conn.execute(
        f"SELECT coalesce(phase, ''), lease_owner FROM {_ident(table)} WHERE id = ?", (execution_id,)
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def lease_of(conn: sqlite3.Connection, table: str, execution_id: str) -> tuple[str, str]:
    """(owner, expires_at) of an execution's lease; ("", "") when nobody holds it."""
    row = conn.execute(
        f"SELECT lease_owner, lease_expires_at FROM {_ident(table)} WHERE id = ?", (execution_id,)
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else ("", "")


def set_lease_txn(
    conn: sqlite3.Connection, table: str, execution_id: str, owner: str, expires_at: str
) -> None:
    """Give the lease to ``owner`` until ``expires_at`` (both empty: release it)."""
    conn.execute(
        f"UPDATE {_ident(table)} SET lease_owner = ?, lease_expires_at = ? WHERE id = ?",
        (owner, expires_at, execution_id),
    )


def renew_txn(conn: sqlite3.Connection, table: str, execution_id: str, owner: str, expires_at: str) -> bool:
    """Extend ``owner``'s lease; False when it no longer holds it."""
    cur = conn.execute(
        f"UPDATE {_ident(table)} SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?",
        (expires_at, execution_id, owner),
    )
    return cur.rowcount == 1


__all__ = ["lease_of", "live_leases", "next_claimable", "phase_and_owner", "renew_txn", "set_lease_txn"]
