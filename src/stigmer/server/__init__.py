"""`stigmer server`: the Backend API over gRPC, with API keys, for a team (see DESIGN.md)."""

from stigmer.server.app import DEFAULT_PORT, EmbeddedServer, ServerOptions, StigmerServer
from stigmer.server.servicer import BackendPool, BackendServicer

__all__ = [
    "DEFAULT_PORT",
    "BackendPool",
    "BackendServicer",
    "EmbeddedServer",
    "ServerOptions",
    "StigmerServer",
]
