"""Whether each McpServer is signed in, as ``get`` shows it (never the tokens)."""

from __future__ import annotations

from collections.abc import Sequence

from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.store import sign_ins as store
from stigmer.store.connection import Connection


def sign_in_status(servers: Sequence[McpServer], conn: Connection) -> None:
    """Fill ``status.signIn`` of McpServers from the stored sign-ins (never the tokens)."""
    rows = store.of_servers(conn, [s.metadata.id for s in servers if s.metadata.id])
    for server in servers:
        status = server.status.sign_in
        status.Clear()
        row = rows.get(server.metadata.id)
        if row is None:
            continue
        status.signed_in = True
        status.refreshable = row.refreshable
        status.scope = row.scope
        if row.expires_at:
            status.expires_at.FromJsonString(row.expires_at)
        status.updated_at.FromJsonString(row.updated_at)


__all__ = ["sign_in_status"]
