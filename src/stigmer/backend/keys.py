"""API keys: created once and shown once, stored as a salted hash, checked on every call.

A key reads ``sk_<id>_<secret>``: the id finds the row, the secret (32 random bytes) is
checked against ``sha256(salt || secret)`` in constant time. The secret has 256 bits of
entropy, so a fast hash is enough; the salt makes equal secrets hash differently anyway.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from stigmer.backend.codec import timestamp
from stigmer.backend.roles import Caller, Role, parse_role
from stigmer.clock import utcnow
from stigmer.errors import AlreadyExists, NotFound
from stigmer.resources.names import validate_name
from stigmer.store import api_keys as key_rows
from stigmer.store.connection import SQLITE, Connection, Transactions
from stigmer.store.database import open_database

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
    role: str = "admin"
    role_from_upgrade: bool = False

    @property
    def active(self) -> bool:
        return not self.revoked_at

    @property
    def caller(self) -> Caller:
        """Who a request made with this key comes from."""
        return Caller(self.name, parse_role(self.role))


def _now() -> str:
    return timestamp(utcnow())


def _digest(salt: bytes, secret: str) -> bytes:
    import hashlib  # with hmac and secrets, only where keys are made or checked: not on every command

    return hashlib.sha256(salt + secret.encode("utf-8")).digest()


def _key(row: key_rows.KeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        role=row.role,
        role_from_upgrade=row.role_from_upgrade,
    )


def create_key(
    db: Transactions, name: str, *, role: str = Role.ADMIN, created_by: str = ""
) -> tuple[ApiKey, str]:
    """Store a new key named ``name`` with ``role``; return it and its token (shown once, never stored).

    Raises:
        InvalidArgument: The name is not a valid name, or the role no role.
        AlreadyExists: An active key has that name.
    """
    validate_name(name, field="name")
    role = parse_role(role)
    import secrets

    key_id = secrets.token_hex(_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    salt = secrets.token_bytes(16)
    row = key_rows.KeyRow(key_id, name, _now(), created_by, "", salt, _digest(salt, secret), str(role))
    with db.write(exclusive=True) as conn:  # rare admin work: as if alone
        if key_rows.active_by_name(conn, name):
            raise AlreadyExists(
                f"an API key named {name!r} already exists",
                hint=f"pick another name, or revoke it first: `stigmer server keys revoke {name}`",
            )
        key_rows.insert_txn(conn, row)
    return _key(row), f"{PREFIX}_{key_id}_{secret}"


def list_keys(conn: Connection) -> list[ApiKey]:
    """Every key, active ones first, by name."""
    return [_key(r) for r in key_rows.list_all(conn)]


def revoke_key(db: Transactions, name: str) -> ApiKey:
    """Revoke the active key named ``name``: from now on it is refused.

    Raises:
        NotFound: No active key has that name.
    """
    with db.write(exclusive=True) as conn:  # rare admin work: as if alone
        row = key_rows.active_by_name(conn, name)
        if row is None:
            raise NotFound(
                f"no active API key named {name!r}", hint="list them with `stigmer server keys list`"
            )
        revoked = ApiKey(**{**_key(row).__dict__, "revoked_at": _now()})
        key_rows.revoke_txn(conn, row.id, revoked.revoked_at)
    return revoked


def count_active(conn: Connection) -> int:
    """How many keys are not revoked."""
    return key_rows.count_active(conn)


def verify(conn: Connection, token: str) -> ApiKey | None:
    """The active key a token is, or None (malformed, unknown, wrong secret or revoked)."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not key_id or not secret or len(token) > 200:
        return None
    import hmac

    row = key_rows.active_by_id(conn, key_id)
    if row is None or not hmac.compare_digest(_digest(row.salt, secret), row.hash):
        return None
    return _key(row)


class ApiKeyStore:
    """The API keys of one database, checked from any thread (on SQLite one check at a time,
    on PostgreSQL in parallel), each check one statement: a revoked key is refused at once.

    Args:
        database: The SQLite file or PostgreSQL URL whose ``api_keys`` table holds the keys.
    """

    def __init__(self, database: Path | str) -> None:
        self.database = database
        self._db = open_database(database)
        # A SQLite Database is one connection, for one thread at a time; PostgreSQL's is a pool.
        self._lock: AbstractContextManager[object] = (
            threading.Lock() if self._db.dialect is SQLITE else nullcontext()
        )

    def verify(self, token: str) -> Caller | None:
        """The active key ``token`` is (its name and role), or None."""
        with self._lock, self._db.read(snapshot=False) as conn:
            key = verify(conn, token)
        return key.caller if key else None

    def active(self) -> int:
        """How many keys are not revoked."""
        with self._lock, self._db.read() as conn:
            return count_active(conn)

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["ApiKey", "ApiKeyStore", "count_active", "create_key", "list_keys", "revoke_key", "verify"]
