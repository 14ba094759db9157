"""Leases on executions: which worker runs one, and until when.

A PENDING execution, or a RUNNING one whose lease has expired (its worker died), can be
claimed; the claiming worker renews its lease while it works. Times are fixed-width
UTC text, so they compare as strings.

The queue holds top-level runs only: a child run is claimed by id, by the run that
started it. An owner named ``engine:…`` is an engine that keeps its own durable record of
the runs it holds (Temporal): it holds a lease until the run ends, through waits for
people, and only it continues the run; when something it must know of happens to the run
(an approval decided, a cancel asked) the run is queued again (PENDING) under its lease,
and the engine claims it back.
"""

from __future__ import annotations

from stigmer.store.connection import Connection
from stigmer.store.records import _ident

ENGINE_PREFIX = "engine:"
# How long an engine's lease lasts: until the run ends (the longest a lease request can ask).
ENGINE_LEASE_SECONDS = 2**31 - 1


def is_engine(owner: str) -> bool:
    """Whether a lease owner is an engine that holds its runs until they end."""
    return owner.startswith(ENGINE_PREFIX)


def next_claimable(conn: Connection, table: str, now: str, worker_id: str = "") -> str | None:
    """The oldest top-level execution that ``worker_id`` may take now, or None: one that is
    queued (and nobody else holds), or running with a lease that expired.

    Inside a write transaction the row is locked, and one another claimer has locked is passed
    over (``FOR UPDATE SKIP LOCKED``): claimers on one queue take different executions at
    once. The conditions sit on the locked table itself (no UNION, no subquery), so that
    PostgreSQL checks them again on the row's latest version once it is locked.
    """
    row = conn.execute(
        f"SELECT created_at, id FROM {_ident(table)} WHERE coalesce(parent_execution_id, '') = '' "
        "AND ((phase IN ('PENDING', 'RUNNING') AND lease_expires_at < ?) "
        "OR (phase = 'PENDING' AND lease_owner = ? AND lease_owner != '')) "
        f"ORDER BY created_at LIMIT 1{conn.dialect.skip_locked}",
        (now, worker_id),
    ).fetchone()
    return str(row[1]) if row else None


def count_queued(conn: Connection, table: str, now: str) -> int:
    """How many top-level executions wait for a worker now: queued ones (a run queued again
    for the engine that holds it too), and running ones whose lease expired. (The queue index
    answers it.)"""
    row = conn.execute(
        f"SELECT count(*) FROM {_ident(table)} WHERE (phase = 'PENDING' "
        "OR (phase = 'RUNNING' AND lease_expires_at < ?)) AND coalesce(parent_execution_id, '') = ''",
        (now,),
    ).fetchone()
    return int(row[0]) if row else 0


def live_leases(conn: Connection, table: str, now: str, limit: int = 100) -> list[tuple[str, str]]:
    """(id, owner) of running top-level executions whose lease has not expired, oldest first."""
    rows = conn.execute(
        f"SELECT id, lease_owner FROM {_ident(table)} WHERE phase = 'RUNNING' AND lease_expires_at >= ? "
        "AND coalesce(parent_execution_id, '') = '' ORDER BY created_at LIMIT ?",
        (now, limit),
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def phase_and_owner(
    conn: Connection, table: str, execution_id: str, *, lock: bool = False
) -> tuple[str, str] | None:
    """(phase, lease owner) of an execution in one indexed read, or None when it does not exist;
    ``lock``: its row stays locked until the (write) transaction ends."""
    suffix = conn.dialect.for_update if lock else ""
    row = conn.execute(
        f"SELECT coalesce(phase, ''), lease_owner FROM {_ident(table)} WHERE id = ?{suffix}", (execution_id,)
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def lease_of(conn: Connection, table: str, execution_id: str) -> tuple[str, str]:
    """(owner, expires_at) of an execution's lease; ("", "") when nobody holds it."""
    row = conn.execute(
        f"SELECT lease_owner, lease_expires_at FROM {_ident(table)} WHERE id = ?", (execution_id,)
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else ("", "")


def set_lease_txn(conn: Connection, table: str, execution_id: str, owner: str, expires_at: str) -> None:
    """Give the lease to ``owner`` until ``expires_at`` (both empty: release it)."""
    conn.execute(
        f"UPDATE {_ident(table)} SET lease_owner = ?, lease_expires_at = ? WHERE id = ?",
        (owner, expires_at, execution_id),
    )


def release_txn(conn: Connection, table: str, execution_id: str, owner: str) -> bool:
    """Release ``owner``'s lease; False when it no longer holds it (nothing changes then)."""
    cur = conn.execute(
        f"UPDATE {_ident(table)} SET lease_owner = '', lease_expires_at = '' "
        "WHERE id = ? AND lease_owner = ?",
        (execution_id, owner),
    )
    return cur.rowcount == 1


def renew_txn(conn: Connection, table: str, execution_id: str, owner: str, expires_at: str) -> bool:
    """Extend ``owner``'s lease; False when it no longer holds it."""
    cur = conn.execute(
        f"UPDATE {_ident(table)} SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?",
        (expires_at, execution_id, owner),
    )
    return cur.rowcount == 1


__all__ = [
    "ENGINE_LEASE_SECONDS",
    "ENGINE_PREFIX",
    "is_engine",
    "lease_of",
    "live_leases",
    "next_claimable",
    "phase_and_owner",
    "release_txn",
    "renew_txn",
    "set_lease_txn",
]
