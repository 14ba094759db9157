"""What the server and RemoteBackend agree on besides the proto: how a resource travels in
the ``Resource`` oneof, and how a Stigmer error travels as a gRPC status.

Nothing here imports grpc, so the local CLI never pays for it. An error becomes a status
code (its ``grpc_code``), the details (what a person reads, e.g. in grpcurl) and trailing
metadata that lets the client raise the very same exception, field path and hint included.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar, cast

from stigmer import errors
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import Resource as WireResource
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.config import DEFAULT_SERVER_PORT
from stigmer.errors import InvalidArgument, StigmerError
from stigmer.resources.kinds import Execution, Resource, kind_info

R = TypeVar("R", bound=Resource)

DEFAULT_PORT = DEFAULT_SERVER_PORT
"""Where `stigmer server` listens unless told otherwise."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (localhost, 127.0.0.0/8, ::1)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


ERROR_TYPE = "stigmer-error"
MESSAGE = "stigmer-message-bin"
HINT = "stigmer-hint-bin"
FIELD = "stigmer-field-bin"
RESOURCE = "stigmer-resource-bin"
SOURCE = "stigmer-source-bin"
# Trailing metadata has a size limit (8 KiB by default); a hint listing every version of a
# long history must not turn an error into another error.
MAX_VALUE_BYTES = 2048
MAX_DETAILS_CHARS = 2048

# Errors by status code, for statuses that carry no `stigmer-error` (raised by gRPC itself,
# or by a server that is not Stigmer).
BY_CODE: dict[str, type[StigmerError]] = {
    "NOT_FOUND": errors.NotFound,
    "ALREADY_EXISTS": errors.AlreadyExists,
    "FAILED_PRECONDITION": errors.Conflict,
    "INVALID_ARGUMENT": errors.InvalidArgument,
    "UNAVAILABLE": errors.Unavailable,
    "DEADLINE_EXCEEDED": errors.Unavailable,
    "UNAUTHENTICATED": errors.Unauthenticated,
    "PERMISSION_DENIED": errors.PermissionDenied,
    "RESOURCE_EXHAUSTED": errors.ResourceExhausted,
    "ABORTED": errors.ExecutionFailed,
}


def pack(resource: Resource) -> WireResource:
    """A resource in the wire oneof."""
    wire = WireResource()
    getattr(wire, kind_info(resource).oneof_field).CopyFrom(resource)
    return wire


def unpack(wire: WireResource) -> Resource:
    """The resource a wire oneof holds.

    Raises:
        InvalidArgument: It holds none.
    """
    field = wire.WhichOneof("kind")
    if field is None:
        raise InvalidArgument("the request holds no resource", field="resource")
    return cast(Resource, getattr(wire, field))


def unpack_as(kind: type[R], wire: WireResource) -> R:
    """The resource a wire oneof holds, which must be of ``kind``."""
    resource = unpack(wire)
    if not isinstance(resource, kind):
        raise InvalidArgument(f"expected a {kind_info(kind).kind}, got a {kind_info(resource).kind}")
    return resource


def unpack_execution(wire: WireResource, *, field: str = "execution") -> Execution:
    """The execution a wire oneof holds.

    Raises:
        InvalidArgument: It holds another kind, or nothing.
    """
    resource = unpack(wire)
    if isinstance(resource, AgentExecution | WorkflowExecution):
        return resource
    raise InvalidArgument(
        f"expected an AgentExecution or a WorkflowExecution, got a {kind_info(resource).kind}", field=field
    )


def _utf8(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) <= MAX_VALUE_BYTES:
        return data
    return data[: MAX_VALUE_BYTES - 3].decode("utf-8", "ignore").encode("utf-8") + "…".encode()


def error_status(exc: StigmerError) -> tuple[str, str, list[tuple[str, str | bytes]]]:
    """(status code name, details, trailing metadata) for an error the backend raised."""
    details = str(exc)
    if exc.hint:
        details += f" (hint: {exc.hint})"
    if len(details) > MAX_DETAILS_CHARS:
        details = details[: MAX_DETAILS_CHARS - 1] + "…"
    metadata: list[tuple[str, str | bytes]] = [
        (ERROR_TYPE, type(exc).__name__),
        (MESSAGE, _utf8(exc.message)),
    ]
    if exc.hint:
        metadata.append((HINT, _utf8(exc.hint)))
    if isinstance(exc, InvalidArgument):
        for key, value in ((FIELD, exc.field), (RESOURCE, exc.resource), (SOURCE, exc.source)):
            if value:
                metadata.append((key, _utf8(value)))
    return exc.grpc_code, details, metadata


def _error_class(name: str) -> type[StigmerError] | None:
    found = getattr(errors, name, None) if name in errors.__all__ else None
    return found if isinstance(found, type) and issubclass(found, StigmerError) else None


def error_from_status(
    code: str, details: str, metadata: Iterable[tuple[str, str | bytes]], *, hint: str = ""
) -> StigmerError:
    """The exception a status stands for: the server's own when it sent one, else by code.

    Args:
        code: The status code's name ("NOT_FOUND").
        details: The status details.
        metadata: The trailing metadata.
        hint: What to suggest when the server gave no hint.
    """
    values: dict[str, str] = {}
    for key, value in metadata:
        values[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    cls = _error_class(values.get(ERROR_TYPE, "")) or BY_CODE.get(code, StigmerError)
    message = values.get(MESSAGE) or details or code
    hint = values.get(HINT, hint)
    if issubclass(cls, InvalidArgument):
        return cls(
            message,
            field=values.get(FIELD, ""),
            resource=values.get(RESOURCE, ""),
            source=values.get(SOURCE, ""),
            hint=hint,
        )
    try:
        return cls(message, hint=hint)
    except TypeError:  # an error type with a constructor of its own
        return BY_CODE.get(code, StigmerError)(message, hint=hint)


__all__ = [
    "BY_CODE",
    "DEFAULT_PORT",
    "ERROR_TYPE",
    "error_from_status",
    "error_status",
    "is_loopback",
    "pack",
    "unpack",
    "unpack_as",
    "unpack_execution",
]
