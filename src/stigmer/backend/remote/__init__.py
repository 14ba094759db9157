"""The Backend protocol over gRPC (:class:`RemoteBackend`) and its parts.

This package imports grpc: only the factory imports it, and only for a cloud backend.
"""

from stigmer.backend.remote.backend import RemoteBackend
from stigmer.backend.remote.channel import DEFAULT_TIMEOUT, RemoteChannel, parse_server_url
from stigmer.backend.remote.executions import RemoteExecutions
from stigmer.backend.remote.journal import RemoteRunJournal
from stigmer.backend.remote.resources import RemoteResources

__all__ = [
    "DEFAULT_TIMEOUT",
    "RemoteBackend",
    "RemoteChannel",
    "RemoteExecutions",
    "RemoteResources",
    "RemoteRunJournal",
    "parse_server_url",
]
