"""Rows of the ``api_keys`` table: a server's API keys, as salt and hash, never the secret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stigmer.store.connection import Connection


@dataclass(frozen=True)
class KeyRow:
    """One stored key."""

    id: str
    name: str
    created_at: str
    created_by: str
    revoked_at: str
    salt: bytes = b""
    hash: bytes = b""
    role: str = "admin"
    role_from_upgrade: bool = False


_COLUMNS = "id, name, created_at, created_by, revoked_at, salt, hash, role, role_from_upgrade"


def _row(values: tuple[Any, ...]) -> KeyRow:
    id, name, created_at, created_by, revoked_at, salt, digest, role, upgraded = values
    return KeyRow(
        str(id),
        str(name),
        str(created_at),
        str(created_by),
        str(revoked_at),
        bytes(salt),
        bytes(digest),
        str(role),
        bool(upgraded),
    )


def active_by_name(conn: Connection, name: str) -> KeyRow | None:
    """The key named ``name`` that is not revoked, or None."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM api_keys WHERE name = ? AND revoked_at = ''", (name,)
    ).fetchone()
    return _row(row) if row else None


def active_by_id(conn: Connection, key_id: str) -> KeyRow | None:
    """The key with this id that is not revoked, or None."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM api_keys WHERE id = ? AND revoked_at = ''", (key_id,)
    ).fetchone()
    return _row(row) if row else None


def insert_txn(conn: Connection, key: KeyRow) -> None:
    """Store a new key."""
    conn.execute(
        "INSERT INTO api_keys (id, name, salt, hash, created_at, created_by, role, role_from_upgrade)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
        (key.id, key.name, key.salt, key.hash, key.created_at, key.created_by, key.role),
    )


def revoke_txn(conn: Connection, key_id: str, revoked_at: str) -> None:
    """Mark a key revoked from ``revoked_at`` on."""
    conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (revoked_at, key_id))


def list_all(conn: Connection) -> list[KeyRow]:
    """Every key, active ones first, by name."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM api_keys ORDER BY revoked_at != '', name, created_at"
    ).fetchall()
    return [_row(r) for r in rows]


def count_active(conn: Connection) -> int:
    """How many keys are not revoked."""
    return int(conn.execute("SELECT count(*) FROM api_keys WHERE revoked_at = ''").fetchone()[0])


__all__ = ["KeyRow", "active_by_id", "active_by_name", "count_active", "insert_txn", "list_all", "revoke_txn"]
