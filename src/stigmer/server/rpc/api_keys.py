"""The API-keys part of BackendService (admin only): `stigmer server keys …` against a server.

They manage the keys of the database the server serves, so the CLI never opens a server's
store to manage its keys. The backend must keep keys (LocalBackend's ``LocalApiKeys``).
"""

from __future__ import annotations

import builtins
from typing import Protocol, runtime_checkable

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend import keys
from stigmer.backend.protocol import Backend
from stigmer.errors import Unavailable
from stigmer.server.rpc.table import Unary


@runtime_checkable
class ApiKeys(Protocol):
    """A backend that keeps API keys."""

    def create_api_key(self, name: str, role: str) -> tuple[pb.ApiKey, str]: ...
    def list_api_keys(self) -> builtins.list[pb.ApiKey]: ...
    def revoke_api_key(self, name: str) -> pb.ApiKey: ...


def _keys(backend: Backend) -> ApiKeys:
    if not isinstance(backend, ApiKeys):
        raise Unavailable("this server's store keeps no API keys", hint="manage keys where its database is")
    return backend


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
    key, token = _keys(b).create_api_key(r.name, r.role or "admin")
    return pb.CreateApiKeyResponse(key=key, token=token)


def _list(b: Backend, r: pb.ListApiKeysRequest) -> pb.ListApiKeysResponse:
    return pb.ListApiKeysResponse(keys=_keys(b).list_api_keys())


def _revoke(b: Backend, r: pb.RevokeApiKeyRequest) -> pb.ApiKey:
    return _keys(b).revoke_api_key(r.name)


API_KEYS: Unary = {
    "CreateApiKey": (pb.CreateApiKeyRequest, _create),
    "ListApiKeys": (pb.ListApiKeysRequest, _list),
    "RevokeApiKey": (pb.RevokeApiKeyRequest, _revoke),
}

__all__ = ["API_KEYS", "ApiKeys", "from_wire"]
