"""API key authentication: a server interceptor in front of every method but health.

A call without ``authorization: Bearer <key>``, or with a key that is unknown or revoked,
is answered UNAUTHENTICATED before its request is even parsed: nothing else happens. An
accepted call runs with the key's name in :func:`current_key` (who wrote, in history).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import grpc

from stigmer.backend import roles
from stigmer.backend.roles import Caller, Role
from stigmer.backend.wire import error_status
from stigmer.errors import PermissionDenied, StigmerError, Unauthenticated

# The standard health service answers without a key (load balancers, `backend status`).
OPEN_SERVICES = ("/grpc.health.v1.Health/",)
HINT = (
    "log in with `stigmer login URL --token KEY`; whoever runs the server creates keys with "
    "`stigmer server keys create NAME`"
)

_KEY: ContextVar[str] = ContextVar("stigmer_api_key", default="")
_ROLE: ContextVar[Role] = ContextVar("stigmer_api_role", default=Role.ADMIN)
BACKEND_PREFIX = "/stigmer.backend.v1.BackendService/"

Verify = Callable[[str], Caller | None]
"""A bearer token to the active key it is (name and role), or None."""


def current_key() -> str:
    """The name of the API key the current call was made with ("" outside a call)."""
    return _KEY.get()


def current_role() -> Role:
    """The role of the API key the current call was made with (admin outside a call)."""
    return _ROLE.get()


def bearer(metadata: Any) -> str:
    """The token of an ``authorization: Bearer …`` entry of call metadata ("" when absent)."""
    for key, value in metadata or ():
        if key.lower() == "authorization":
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            scheme, _, token = text.strip().partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    return ""


def _refusal(
    handler: grpc.RpcMethodHandler[Any, Any], error: StigmerError
) -> grpc.RpcMethodHandler[Any, Any]:
    code, details, metadata = error_status(error)
    status = getattr(grpc.StatusCode, code)

    async def refuse(_: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        await context.abort(status, details, tuple(metadata))

    # No deserializer: the request is never parsed. The handler keeps the method's shape.
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse)
    return grpc.unary_unary_rpc_method_handler(refuse)


def _with_key(handler: grpc.RpcMethodHandler[Any, Any], caller: Caller) -> grpc.RpcMethodHandler[Any, Any]:
    """The handler, running as ``caller`` (:func:`current_key`, :func:`current_role`)."""
    name, role = caller.name, caller.role
    serializers = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    unary: Callable[..., Any] | None = handler.unary_unary
    stream: Callable[..., Any] | None = handler.unary_stream
    if unary is not None and inspect.iscoroutinefunction(unary):
        inner = unary

        async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            _KEY.set(name)  # each call runs in a task (and a context) of its own
            _ROLE.set(role)
            return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(call, **serializers)
    if stream is not None and inspect.isasyncgenfunction(stream):
        inner_stream = stream

        async def watch(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            _KEY.set(name)
            _ROLE.set(role)
            async for item in inner_stream(request, context):
                yield item

        return grpc.unary_stream_rpc_method_handler(watch, **serializers)
    return handler


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Refuses every call without a valid API key (except the health service's), and every
    BackendService call the key's role does not allow (:data:`stigmer.backend.roles.RPC_ROLES`)."""

    def __init__(self, verify: Verify) -> None:
        self.verify = verify

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(OPEN_SERVICES):
            return handler
        token = bearer(handler_call_details.invocation_metadata)
        if not token:
            return _refusal(
                handler,
                Unauthenticated("this server needs an API key: `authorization: Bearer KEY`", hint=HINT),
            )
        caller = self.verify(token)
        if caller is None:
            return _refusal(
                handler, Unauthenticated("the API key was refused: it is unknown or revoked", hint=HINT)
            )
        method = handler_call_details.method
        if method.startswith(BACKEND_PREFIX):
            try:
                roles.check(caller.role, method[len(BACKEND_PREFIX) :], caller.name)
            except PermissionDenied as exc:
                return _refusal(handler, exc)
        return _with_key(handler, caller)


__all__ = ["OPEN_SERVICES", "AuthInterceptor", "Verify", "bearer", "current_key", "current_role"]
