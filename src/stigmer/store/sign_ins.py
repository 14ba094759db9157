"""Rows of the ``mcp_sign_ins`` table: an McpServer's OAuth credentials, sealed, and what
may be shown of them (expiry, scope, whether a refresh token is held)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stigmer.store.connection import Connection


@dataclass(frozen=True)
class SignInRow:
    """One stored sign-in; ``sealed`` is ciphertext, never plaintext."""

    server_id: str
    sealed: str
    expires_at: str
    refreshable: bool
    scope: str
    updated_at: str
    updated_by: str = ""


_COLUMNS = "server_id, sealed, expires_at, refreshable, scope, updated_at, updated_by"


def _row(values: tuple[Any, ...]) -> SignInRow:
    server_id, sealed, expires_at, refreshable, scope, updated_at, updated_by = values
    return SignInRow(
        str(server_id),
        str(sealed),
        str(expires_at),
        bool(refreshable),
        str(scope),
        str(updated_at),
        str(updated_by),
    )


def get(conn: Connection, server_id: str) -> SignInRow | None:
    """The sign-in of one server, or None."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM mcp_sign_ins WHERE server_id = ?", (server_id,)).fetchone()
    return _row(row) if row else None


def of_servers(conn: Connection, server_ids: Sequence[str]) -> dict[str, SignInRow]:
    """The sign-ins of many servers, by server id (one query)."""
    if not server_ids:
        return {}
    marks = ", ".join("?" for _ in server_ids)
    rows = conn.execute(f"SELECT {_COLUMNS} FROM mcp_sign_ins WHERE server_id IN ({marks})", list(server_ids))
    return {r.server_id: r for r in map(_row, rows)}


def all_rows(conn: Connection) -> list[SignInRow]:
    """Every stored sign-in (for re-sealing under a new master key)."""
    return [_row(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM mcp_sign_ins")]


def any_stored(conn: Connection) -> bool:
    """Whether any sign-in is stored."""
    return conn.execute("SELECT 1 FROM mcp_sign_ins LIMIT 1").fetchone() is not None


def put_txn(conn: Connection, row: SignInRow) -> None:
    """Store (or replace) a server's sign-in."""
    conn.execute(
        f"INSERT INTO mcp_sign_ins ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (server_id) "
        "DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at, "
        "refreshable = excluded.refreshable, scope = excluded.scope, updated_at = excluded.updated_at, "
        "updated_by = excluded.updated_by",
        (
            row.server_id,
            row.sealed,
            row.expires_at,
            int(row.refreshable),
            row.scope,
            row.updated_at,
            row.updated_by,
        ),
    )


def delete_txn(conn: Connection, server_id: str) -> bool:
    """Forget a server's sign-in; whether there was one."""
    return conn.execute("DELETE FROM mcp_sign_ins WHERE server_id = ?", (server_id,)).rowcount > 0


__all__ = ["SignInRow", "all_rows", "any_stored", "delete_txn", "get", "of_servers", "put_txn"]
