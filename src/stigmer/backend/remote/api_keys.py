"""API keys over gRPC (admin keys only; not part of the Backend protocol)."""

from __future__ import annotations

import builtins

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend.remote.channel import RemoteChannel


class RemoteApiKeys(RemoteChannel):
    """The API keys of a `stigmer server`."""

    def create_api_key(self, name: str, role: str) -> tuple[pb.ApiKey, str]:
        """Create a key on the server; return it and its token (shown once)."""
        found = self._unary(self._stub.CreateApiKey, pb.CreateApiKeyRequest(name=name, role=role))
        return found.key, found.token

    def list_api_keys(self) -> builtins.list[pb.ApiKey]:
        """The server's keys (never their secrets)."""
        return builtins.list(
            self._unary(self._stub.ListApiKeys, pb.ListApiKeysRequest(), idempotent=True).keys
        )

    def revoke_api_key(self, name: str) -> pb.ApiKey:
        """Revoke the server's active key ``name``."""
        return self._unary(self._stub.RevokeApiKey, pb.RevokeApiKeyRequest(name=name))


__all__ = ["RemoteApiKeys"]
