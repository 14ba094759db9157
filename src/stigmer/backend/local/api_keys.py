"""API keys on SQLite: create, list, revoke the keys of the database a server serves.

Not part of the Backend protocol: only a server's admin keys reach it (``stigmer server
keys …`` against a server), so the CLI never opens a server's store to manage its keys.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend.local.base import LocalStore

if TYPE_CHECKING:
    from stigmer.backend.keys import ApiKey

# stigmer.backend.keys (roles, token hashing) is imported by the methods: every command opens
# a LocalBackend, and only `stigmer server keys` manages keys.


def key_to_wire(key: ApiKey) -> pb.ApiKey:
    """A stored key as the wire carries it (never its secret)."""
    return pb.ApiKey(
        id=key.id,
        name=key.name,
        role=key.role,
        created_at=key.created_at,
        created_by=key.created_by,
        revoked_at=key.revoked_at,
        role_from_upgrade=key.role_from_upgrade,
    )


class LocalApiKeys(LocalStore):
    """API keys on SQLite (admin only over gRPC; see backend/roles.py)."""

    def create_api_key(self, name: str, role: str) -> tuple[pb.ApiKey, str]:
        """Create a key; return it and its token (shown once)."""
        from stigmer.backend import keys

        key, token = keys.create_key(self.db, name, role=role or "admin", created_by=str(self.actor))
        return key_to_wire(key), token

    def list_api_keys(self) -> builtins.list[pb.ApiKey]:
        """Every key (never their secrets)."""
        from stigmer.backend import keys

        with self.db.read() as conn:
            return [key_to_wire(k) for k in keys.list_keys(conn)]

    def revoke_api_key(self, name: str) -> pb.ApiKey:
        """Revoke the active key ``name``."""
        from stigmer.backend import keys

        return key_to_wire(keys.revoke_key(self.db, name))


__all__ = ["LocalApiKeys", "key_to_wire"]
