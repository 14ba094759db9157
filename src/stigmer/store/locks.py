"""Locks a write transaction takes on names, for what no row can be locked on yet.

A row that exists is locked by reading it ``FOR UPDATE`` (the connection's dialect says how);
a name that no row holds yet (a resource being created, a slug being taken by a rename)
cannot be. Writers of named resources therefore lock the names they may create, rename to
or overwrite, before they read: two that write the same name queue, those that write
different names run in parallel. On PostgreSQL a name lock is an advisory lock held until the
transaction ends; on SQLite nothing, as every writer is serialised whole there.

Names are locked in sorted order, every time, so that two writers never wait for each other.
"""

from __future__ import annotations

from collections.abc import Iterable

from stigmer.store.connection import Connection

# The first key of a name lock: PostgreSQL keeps two-key advisory locks apart from one-key ones
# (the write and migration locks), and this number keeps them apart from anyone else's.
NAME_LOCK_CLASS = 0x5714


def lock_names_txn(conn: Connection, names: Iterable[str]) -> None:
    """Hold a lock on each name (``table/slug``, or any text) until the transaction ends."""
    if conn.dialect.name != "postgresql":
        return
    for name in sorted(set(names)):
        conn.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (NAME_LOCK_CLASS, name))


def name_of(table: str, key: str) -> str:
    """The lock name of a row-to-be: its table and its slug (or id)."""
    return f"{table}/{key}"


__all__ = ["NAME_LOCK_CLASS", "lock_names_txn", "name_of"]
