"""API keys on SQLite: create, list, revoke the keys of the database a server serves.

Not part of the Backend protocol: only a server's admin keys reach it (``stigmer server
keys …`` against a server), so the CLI never opens a server's store to manage its keys.
"""

from __future__ import annotations

import builtins

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend.local.base import LocalStore


def key_to_wire(key: object) -> pb.ApiKey:
    """A stored key (``stigmer.server.keys.ApiKey``) as the wire carries it (never its secret)."""
    return pb.ApiKey(
        id=getattr(key, "id"),  # noqa: B009 - the dataclass lives above the backend layer
        name=getattr(key, "name"),  # noqa: B009
        role=getattr(key, "role"),  # noqa: B009
        created_at=getattr(key, "created_at"),  # noqa: B009
        created_by=getattr(key, "created_by"),  # noqa: B009
        revoked_at=getattr(key, "revoked_at"),  # noqa: B009
        role_from_upgrade=getattr(key, "role_from_upgrade"),  # noqa: B009
    )


class LocalApiKeys(LocalStore):
    """API keys on SQLite (admin only over gRPC; see server/roles.py)."""

    def create_api_key(self, name: str, role: str) -> tuple[pb.ApiKey, str]:
        """Create a key; return it and its token (shown once)."""
        from stigmer.server import keys

        key, token = keys.create_key(self.db, name, role=role or "admin", created_by=str(self.actor))
        return key_to_wire(key), token

    def list_api_keys(self) -> builtins.list[pb.ApiKey]:
        """Every key (never their secrets)."""
        from stigmer.server import keys

        with self.db.read() as conn:
            return [key_to_wire(k) for k in keys.list_keys(conn)]

    def revoke_api_key(self, name: str) -> pb.ApiKey:
        """Revoke the active key ``name``."""
        from stigmer.server import keys

        return key_to_wire(keys.revoke_key(self.db, name))


__all__ = ["LocalApiKeys", "key_to_wire"]
