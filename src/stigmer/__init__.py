"""Stigmer: AI agents and agentic workflows, from a laptop to a team server.

Importing this package stays cheap (the CLI imports it on every start): the version and
the typed errors are here; the SDK's names (``Agent``, ``Workflow``, ``Skill``,
``McpServer``, ``Environment``, ``task``, ``Client``, ``AsyncClient``) are loaded from
:mod:`stigmer.sdk` the first time they are used.
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from stigmer.sdk.aio import AsyncClient
    from stigmer.sdk.authoring import Agent, Environment, McpServer, Skill, Workflow
    from stigmer.sdk.client import Client
    from stigmer.sdk.functions import task

_SDK = ("Agent", "AsyncClient", "Client", "Environment", "McpServer", "Skill", "Workflow", "task")


def __getattr__(name: str) -> Any:
    if name in _SDK:
        import stigmer.sdk

        return getattr(stigmer.sdk, name)
    raise AttributeError(f"module 'stigmer' has no attribute {name!r}")


__all__ = [
    "Agent",
    "AlreadyExists",
    "AsyncClient",
    "Client",
    "Conflict",
    "Environment",
    "ExecutionFailed",
    "InvalidArgument",
    "McpServer",
    "NotFound",
    "ResourceExhausted",
    "SchemaTooNew",
    "SecretError",
    "Skill",
    "StigmerError",
    "Unauthenticated",
    "Unavailable",
    "Workflow",
    "__version__",
    "task",
]
