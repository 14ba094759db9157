"""MCP OAuth sign-ins over gRPC: the RemoteBackend part for :mod:`stigmer.backend.local.sign_ins`."""

from __future__ import annotations

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend.remote.channel import RemoteChannel


class RemoteMcpSignIns(RemoteChannel):
    """The MCP sign-in part of a `stigmer server`."""

    def save_mcp_sign_in(self, server: str, credentials: str) -> None:
        self._unary(
            self._stub.SaveMcpSignIn, pb.McpSignIn(server=server, credentials=credentials), idempotent=True
        )

    def delete_mcp_sign_in(self, server: str) -> bool:
        response = self._unary(
            self._stub.DeleteMcpSignIn, pb.McpSignInRequest(server=server), idempotent=True
        )
        return bool(response.deleted)

    def read_mcp_sign_in(self, server: str, *, execution_id: str = "", worker_id: str = "") -> str:
        request = pb.McpSignInRequest(server=server, execution_id=execution_id, worker_id=worker_id)
        return str(self._unary(self._stub.ReadMcpSignIn, request, idempotent=True).credentials)

    def refresh_mcp_sign_in(
        self, server: str, credentials: str, *, execution_id: str = "", worker_id: str = ""
    ) -> None:
        request = pb.McpSignIn(
            server=server, credentials=credentials, execution_id=execution_id, worker_id=worker_id
        )
        self._unary(self._stub.RefreshMcpSignIn, request, idempotent=True)


__all__ = ["RemoteMcpSignIns"]
