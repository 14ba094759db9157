"""API keys: created once and shown once, stored as a salted hash, checked on every call.

A key reads ``sk_<id>_<secret>``: the id finds the row, the secret (32 random bytes) is
checked against ``sha256(salt || secret)`` in constant time. The secret has 256 bits of
entropy, so a fast hash is enough; the salt makes equal secrets hash differently anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from stigmer.errors import AlreadyExists, NotFound
from stigmer.resources.names import validate_name
from stigmer.store.database import Database

PREFIX = "sk"
_ID_BYTES = 8
_SECRET_BYTES = 32


@dataclass(frozen=True)
class ApiKey:
    """One stored key (never its secret)."""

    id: str
    name: str
    created_at: str
    created_by: str = ""
    revoked_at: str = ""

    @property
    def active(self) -> bool:
        return not self.revoked_at


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("utf-8")).digest()


def _key(row: tuple[str, str, str, str, str]) -> ApiKey:
    return ApiKey(id=row[0], name=row[1], created_at=row[2], created_by=row[3], revoked_at=row[4])


_COLUMNS = "id, name, created_at, created_by, revoked_at"


def create_key(db: Database, name: str, *, created_by: str = "") -> tuple[ApiKey, str]:
    """Store a new key named ``name``; return it and its token (shown once, never stored).

    Raises:
        InvalidArgument: The name is not a valid name.
        AlreadyExists: An active key has that name.
    """
    validate_name(name, field="name")
    key_id = secrets.token_hex(_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    salt = secrets.token_bytes(16)
    created = ApiKey(id=key_id, name=name, created_at=_now(), created_by=created_by)
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM api_keys WHERE name = ? AND revoked_at = ''", (name,)).fetchone():
            raise AlreadyExists(
                f"an API key named {name!r} already exists",
                hint=f"pick another name, or revoke it first: `stigmer server keys revoke {name}`",
            )
        conn.execute(
            "INSERT INTO api_keys (id, name, salt, hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
            (key_id, name, salt, _digest(salt, secret), created.created_at, created_by),
        )
    return created, f"{PREFIX}_{key_id}_{secret}"


def list_keys(conn: sqlite3.Connection) -> list[ApiKey]:
    """Every key, active ones first, by name."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM api_keys ORDER BY revoked_at != '', name, created_at"
    ).fetchall()
    return [_key(r) for r in rows]


def revoke_key(db: Database, name: str) -> ApiKey:
    """Revoke the active key named ``name``: from now on it is refused.

    Raises:
        NotFound: No active key has that name.
    """
    with db.write() as conn:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM api_keys WHERE name = ? AND revoked_at = ''", (name,)
        ).fetchone()
        if row is None:
            raise NotFound(
                f"no active API key named {name!r}", hint="list them with `stigmer server keys list`"
            )
        revoked = ApiKey(**{**_key(row).__dict__, "revoked_at": _now()})
        conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (revoked.revoked_at, revoked.id))
    return revoked


def count_active(conn: sqlite3.Connection) -> int:
    """How many keys are not revoked."""
    return int(conn.execute("SELECT count(*) FROM api_keys WHERE revoked_at = ''").fetchone()[0])


def verify(conn: sqlite3.Connection, token: str) -> ApiKey | None:
    """The active key a token is, or None (malformed, unknown, wrong secret or revoked)."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not key_id or not secret or len(token) > 200:
        return None
    row = conn.execute(
        f"SELECT {_COLUMNS}, salt, hash FROM api_keys WHERE id = ? AND revoked_at = ''", (key_id,)
    ).fetchone()
    if row is None:
        return None
    if not hmac.compare_digest(_digest(bytes(row[5]), secret), bytes(row[6])):
        return None
    return _key(row[:5])


__all__ = ["ApiKey", "count_active", "create_key", "list_keys", "revoke_key", "verify"]
