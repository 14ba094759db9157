"""`stigmer server`: the Backend API over gRPC, with API keys, for a team (see docs/architecture.md).

The gRPC names load on first use: :mod:`stigmer.backend.keys` (API keys: SQLite and
hashes) is imported by the dashboard without the server extra installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stigmer.server.app import DEFAULT_PORT, ServerOptions, StigmerServer
    from stigmer.server.servicer import BackendPool, BackendServicer

_EXPORTS = {
    "DEFAULT_PORT": "stigmer.server.app",
    "ServerOptions": "stigmer.server.app",
    "StigmerServer": "stigmer.server.app",
    "BackendPool": "stigmer.server.servicer",
    "BackendServicer": "stigmer.server.servicer",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stigmer.server' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DEFAULT_PORT",
    "BackendPool",
    "BackendServicer",
    "ServerOptions",
    "StigmerServer",
]
