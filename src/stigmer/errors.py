"""Typed errors. Each maps one-to-one onto a gRPC status code and a CLI exit code.

Every error says what happened, to which resource or field, and what to do next
(`hint`), so the CLI, the SDK and the server can all show it to a person as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # The generated messages, not stigmer.resources.kinds (which raises these errors): errors
    # sit below every other layer and import none of them.
    from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
    from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution


class StigmerError(Exception):
    """Base of every error Stigmer raises on purpose."""

    grpc_code = "UNKNOWN"
    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InvalidArgument(StigmerError):
    """The input is malformed: a bad field, name, value or file.

    Args:
        message: What is wrong.
        field: The dotted path of the offending field, e.g. ``spec.tasks[1].dependsOn``.
        resource: ``Kind/name`` of the resource the field belongs to, when known.
        source: ``file:line`` where the field was written, when it came from a file.
    """

    grpc_code = "INVALID_ARGUMENT"
    exit_code = 2

    def __init__(
        self, message: str, *, field: str = "", resource: str = "", source: str = "", hint: str = ""
    ) -> None:
        super().__init__(message, hint=hint)
        self.field = field
        self.resource = resource
        self.source = source

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.source, self.resource, self.field) if p)
        return f"{where}: {self.message}" if where else self.message


class NotFound(StigmerError):
    """The named resource, execution or version does not exist."""

    grpc_code = "NOT_FOUND"


class AlreadyExists(StigmerError):
    """A resource with that name already exists."""

    grpc_code = "ALREADY_EXISTS"


class Conflict(StigmerError):
    """A write was based on a stale version, or the state forbids it (e.g. a finished run)."""

    grpc_code = "FAILED_PRECONDITION"


class SchemaTooNew(StigmerError):
    """The database was written by a newer Stigmer; it is left untouched."""

    grpc_code = "FAILED_PRECONDITION"
    exit_code = 2


class Unavailable(StigmerError):
    """The backend cannot be reached right now."""

    grpc_code = "UNAVAILABLE"


class Unauthenticated(StigmerError):
    """The server refused the request's API key: missing, wrong or revoked. Nothing was done."""

    grpc_code = "UNAUTHENTICATED"


class ResourceExhausted(StigmerError):
    """A request or response is larger than the server or client accepts. Nothing was done."""

    grpc_code = "RESOURCE_EXHAUSTED"


class SecretError(StigmerError):
    """A secret cannot be sealed or opened: its master key is missing, refused or wrong, or
    the stored ciphertext does not pass its integrity check. Nothing is changed or unsealed."""

    grpc_code = "FAILED_PRECONDITION"


class ExecutionFailed(StigmerError):
    """An execution ended FAILED or CANCELLED.

    Args:
        message: What ended it.
        execution: The execution's final record (an AgentExecution or WorkflowExecution),
            when it is known: its ``status.error``, steps and outputs so far.
    """

    grpc_code = "ABORTED"

    def __init__(
        self, message: str, *, hint: str = "", execution: AgentExecution | WorkflowExecution | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.execution = execution


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
]
