"""Roles of API keys, and the one table that says which role each BackendService call needs.

Four roles are nested, each allowing what the one before allows and more:

- ``viewer``: read resources, executions, their steps, events and artifacts.
- ``runner``: + start executions, approve, reject, cancel, resume and retry them.
- ``editor``: + apply, create, update, delete, roll back and import resources (an
  Environment's variables and secrets too, never a secret's value).
- ``admin``: + API keys, revealing secrets, rotating the master key, pruning.

``worker`` stands apart: what a `stigmer worker` on another machine needs (claims, leases,
steps, execution contexts, status updates) and the reads that running takes; it cannot
change definitions or reveal a secret through ``RevealSecret``. ``admin`` may do anything.

The auth interceptor looks every call up in :data:`RPC_ROLES`; a method missing from it is
refused to everyone but admin, and a test fails when one is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from stigmer.errors import InvalidArgument, PermissionDenied


class Role(StrEnum):
    """What an API key may do."""

    VIEWER = "viewer"
    RUNNER = "runner"
    EDITOR = "editor"
    ADMIN = "admin"
    WORKER = "worker"


@dataclass(frozen=True)
class Caller:
    """Who made a request: the name of their API key and its role."""

    name: str
    role: Role = Role.ADMIN


ROLES: tuple[Role, ...] = (Role.VIEWER, Role.RUNNER, Role.EDITOR, Role.ADMIN, Role.WORKER)
# The nested roles, least first: a role allows what every role before it allows.
_LADDER: tuple[Role, ...] = (Role.VIEWER, Role.RUNNER, Role.EDITOR, Role.ADMIN)

# Every BackendService method -> the least role of the ladder that may call it.
RPC_ROLES: dict[str, Role] = {
    # reading
    "GetResource": Role.VIEWER,
    "ListResources": Role.VIEWER,
    "GetHistory": Role.VIEWER,
    "GetExecution": Role.VIEWER,
    "ListExecutions": Role.VIEWER,
    "ListSteps": Role.VIEWER,
    "WatchExecution": Role.VIEWER,
    "GetArtifact": Role.VIEWER,
    "GetBackendInfo": Role.VIEWER,
    # running
    "CreateExecution": Role.RUNNER,
    "CancelExecution": Role.RUNNER,
    "ResolveApproval": Role.RUNNER,
    "Respond": Role.RUNNER,
    # changing definitions (a runner may create a Session only: `execute --session NEW`;
    # see check_request)
    "CreateResource": Role.RUNNER,
    "UpdateResource": Role.EDITOR,
    "ApplyResources": Role.EDITOR,
    "DeleteResource": Role.EDITOR,
    "Rollback": Role.EDITOR,
    "ImportResources": Role.EDITOR,
    "StoreArtifact": Role.EDITOR,
    # MCP sign-ins (`stigmer mcpserver login/logout`), like an environment's secrets
    "SaveMcpSignIn": Role.EDITOR,
    "DeleteMcpSignIn": Role.EDITOR,
    # the run journal: workers (and admin)
    "GetExecutionContext": Role.ADMIN,
    "RecordStep": Role.ADMIN,
    "ClaimExecution": Role.ADMIN,
    "RenewLease": Role.ADMIN,
    "ReleaseExecution": Role.ADMIN,
    "CountQueued": Role.VIEWER,  # the queue's depth, for metrics: counts only
    "UpdateExecutionStatus": Role.ADMIN,
    "ReadMcpSignIn": Role.ADMIN,  # plaintext tokens, for the run that uses them
    "RefreshMcpSignIn": Role.ADMIN,
    # administration
    "RevealSecret": Role.ADMIN,
    "RotateMasterKey": Role.ADMIN,
    "PruneExecutions": Role.ADMIN,
    "CreateApiKey": Role.ADMIN,
    "ListApiKeys": Role.ADMIN,
    "RevokeApiKey": Role.ADMIN,
}

# What a worker key may call besides every read: the journal, and the writes that running takes
# (a workflow's agent and sub-workflow tasks start child executions; tools store artifacts).
WORKER_RPCS: frozenset[str] = frozenset(
    {
        "GetExecutionContext",
        "RecordStep",
        "ClaimExecution",
        "RenewLease",
        "ReleaseExecution",
        "UpdateExecutionStatus",
        "ReadMcpSignIn",
        "RefreshMcpSignIn",
        "CreateExecution",
        "CreateResource",
        "StoreArtifact",
    }
)

_LEAST_FOR: dict[Role, str] = {
    Role.VIEWER: "viewer (or any role)",
    Role.RUNNER: "runner, editor or admin",
    Role.EDITOR: "editor or admin",
    Role.ADMIN: "admin",
}


def parse_role(text: str, *, field: str = "--role") -> Role:
    """The role ``text`` names.

    Raises:
        InvalidArgument: It names none.
    """
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise InvalidArgument(
            f"unknown role {text!r}", field=field, hint=f"use one of: {', '.join(ROLES)}"
        ) from None


def allows(role: Role | str, method: str) -> bool:
    """Whether a key of ``role`` may call the BackendService ``method`` (its bare name)."""
    role = Role(role)
    if role == Role.ADMIN:
        return True
    if role == Role.WORKER:
        return method in WORKER_RPCS or RPC_ROLES.get(method) == Role.VIEWER
    needed = RPC_ROLES.get(method)
    if needed is None:
        return False
    return _LADDER.index(role) >= _LADDER.index(needed)


def needed(method: str) -> str:
    """The roles that may call ``method``, for people."""
    if method == "CreateResource":
        return "editor or admin (a runner or worker creates sessions only)"
    base = RPC_ROLES.get(method, Role.ADMIN)
    text = _LEAST_FOR[base]
    if method in WORKER_RPCS:
        text = f"{text}, or worker"
    return text


def check(role: Role | str, method: str, key_name: str = "") -> None:
    """Raise unless a key of ``role`` may call ``method``.

    Raises:
        PermissionDenied: It may not; the message names the role needed.
    """
    if allows(role, method):
        return
    who = f"the API key {key_name!r}" if key_name else "this API key"
    raise PermissionDenied(
        f"{method} needs the role {needed(method)}; {who} has the role {Role(role)}",
        hint="ask the server's operator for a key with that role "
        "(`stigmer server keys create NAME --role ROLE`)",
    )


def check_request(role: Role | str, method: str, request: object, key_name: str = "") -> None:
    """The checks that need the request: a runner's CreateResource makes a Session only.

    Raises:
        PermissionDenied: The role may not make this request.
    """
    if method != "CreateResource" or Role(role) not in (Role.RUNNER, Role.WORKER):
        return
    resource = getattr(request, "resource", None)
    kind = resource.WhichOneof("kind") if resource is not None else None
    if kind != "session":
        who = f"the API key {key_name!r}" if key_name else "this API key"
        raise PermissionDenied(
            f"creating a {kind or 'resource'} needs the role editor or admin; "
            f"{who} has the role {Role(role)}",
            hint="a runner creates sessions only; ask for an editor key to change definitions",
        )


__all__ = [
    "ROLES",
    "RPC_ROLES",
    "WORKER_RPCS",
    "Caller",
    "Role",
    "allows",
    "check",
    "check_request",
    "needed",
    "parse_role",
]
