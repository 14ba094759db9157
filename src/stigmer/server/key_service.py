"""The API-key methods of BackendService (admin only): `stigmer server keys …` against a server.

They manage the keys of the database the server serves, so the CLI never opens a
server's store to manage its keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend.protocol import Backend
from stigmer.errors import Unavailable
from stigmer.server import keys
from stigmer.store.database import Database


def _db(backend: Backend) -> Database:
    db = getattr(backend, "db", None)
    if not isinstance(db, Database):
        raise Unavailable("this server's store keeps no API keys", hint="manage keys where its database is")
    return db


def to_wire(key: keys.ApiKey) -> pb.ApiKey:
    """A key as the wire carries it (never its secret)."""
    return pb.ApiKey(
        id=key.id,
        name=key.name,
        role=key.role,
        created_at=key.created_at,
        created_by=key.created_by,
        revoked_at=key.revoked_at,
        role_from_upgrade=key.role_from_upgrade,
    )


def from_wire(key: pb.ApiKey) -> keys.ApiKey:
    """A key the wire carried."""
    return keys.ApiKey(
        id=key.id,
        name=key.name,
        created_at=key.created_at,
        created_by=key.created_by,
        revoked_at=key.revoked_at,
        role=key.role,
        role_from_upgrade=key.role_from_upgrade,
    )


def _create(b: Backend, r: pb.CreateApiKeyRequest) -> pb.CreateApiKeyResponse:
    actor = str(getattr(b, "actor", ""))
    key, token = keys.create_key(_db(b), r.name, role=r.role or "admin", created_by=actor)
    return pb.CreateApiKeyResponse(key=to_wire(key), token=token)


def _list(b: Backend, r: pb.ListApiKeysRequest) -> pb.ListApiKeysResponse:
    db = _db(b)
    with db.read() as conn:
        return pb.ListApiKeysResponse(keys=[to_wire(k) for k in keys.list_keys(conn)])


def _revoke(b: Backend, r: pb.RevokeApiKeyRequest) -> pb.ApiKey:
    return to_wire(keys.revoke_key(_db(b), r.name))


KEY_UNARY: dict[str, tuple[type[Message], Callable[[Backend, Any], Message]]] = {
    "CreateApiKey": (pb.CreateApiKeyRequest, _create),
    "ListApiKeys": (pb.ListApiKeysRequest, _list),
    "RevokeApiKey": (pb.RevokeApiKeyRequest, _revoke),
}

__all__ = ["KEY_UNARY", "from_wire", "to_wire"]
