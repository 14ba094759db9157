"""Stigmer: AI agents and agentic workflows, from a laptop to a team server.

Importing this package stays cheap (the CLI imports it on every start): the public
names here are the version and the typed errors; the rest lives in subpackages.
"""

from stigmer.errors import (
    AlreadyExists,
    Conflict,
    ExecutionFailed,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    SchemaTooNew,
    SecretError,
    StigmerError,
    Unauthenticated,
    Unavailable,
)
from stigmer.version import __version__

__all__ = [
    "AlreadyExists",
    "Conflict",
    "ExecutionFailed",
    "InvalidArgument",
    "NotFound",
    "ResourceExhausted",
    "SchemaTooNew",
    "SecretError",
    "StigmerError",
    "Unauthenticated",
    "Unavailable",
    "__version__",
]
