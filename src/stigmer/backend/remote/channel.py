"""The channel every remote part shares: one gRPC channel, deadlines, retries, errors.

Each call has a deadline; calls that are safe to repeat (reads, lease renewals, imports)
are retried with backoff when the server is UNAVAILABLE; every error comes back as the
exception LocalBackend raises, with its hint and, for invalid arguments, its field path.
"""

from __future__ import annotations

import random
import time
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import grpc

from stigmer.api.backend.v1.backend_pb2_grpc import BackendServiceStub
from stigmer.backend.wire import (
    DEFAULT_PORT,
    ERROR_TYPE,
    error_from_status,
    is_loopback,
)
from stigmer.config import Config, load_token
from stigmer.errors import InvalidArgument, StigmerError, Unavailable
from stigmer.version import __version__

Req = TypeVar("Req")


Resp = TypeVar("Resp")


DEFAULT_TIMEOUT = 30.0


# Writes of many resources at once get longer.
BULK_TIMEOUT_FACTOR = 4


DEFAULT_RETRIES = 4


_UNREACHABLE_HINT = (
    "is `stigmer server` running there? `stigmer backend status` checks; "
    "`stigmer backend switch local` goes back to this machine's store"
)


def parse_server_url(url: str) -> tuple[str, bool]:
    """``(host:port, tls)`` of a server URL.

    ``grpc://`` and ``http://`` are plaintext, ``grpcs://`` and ``https://`` TLS; a bare
    ``host[:port]`` is plaintext on a loopback host and TLS anywhere else. The port defaults
    to 7878.

    Raises:
        InvalidArgument: Not a URL of a server.
    """
    text = url.strip()
    parts = urlsplit(text if "://" in text else f"//{text}")
    scheme = parts.scheme.lower()
    if (
        scheme not in ("", "grpc", "grpcs", "http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
    ):
        raise InvalidArgument(
            f"{url!r} is not the URL of a Stigmer server",
            field="url",
            hint="e.g. grpc://127.0.0.1:7878, or grpcs://stigmer.example.com for TLS",
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise InvalidArgument(f"{url!r} has an invalid port", field="url") from None
    host = parts.hostname
    tls = scheme in ("grpcs", "https") if scheme else not is_loopback(host)
    return (f"[{host}]:{port}" if ":" in host else f"{host}:{port}"), tls


class RemoteChannel:
    """The connection to a `stigmer server` that every remote part calls through.

    Args:
        url: The server (see :func:`parse_server_url`).
        token: An API key (`stigmer server keys create`).
        ca_cert: PEM of the CA that signed the server's certificate, when not a public one.
        timeout: Seconds each call may take (bulk writes get more).
        retries: How often a call that is safe to repeat is retried when the server is
            unreachable, with exponential backoff.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str = "",
        ca_cert: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.retries = retries
        target, tls = parse_server_url(url)
        options = [
            ("grpc.max_receive_message_length", 256 * 1024 * 1024),
            ("grpc.max_send_message_length", 256 * 1024 * 1024),
            ("grpc.max_metadata_size", 64 * 1024),
            ("grpc.primary_user_agent", f"stigmer/{__version__}"),
        ]
        if tls:
            credentials = grpc.ssl_channel_credentials(root_certificates=ca_cert)
            self._channel = grpc.secure_channel(target, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self._stub = BackendServiceStub(self._channel)
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()

    @classmethod
    def from_config(cls, config: Config) -> Self:
        """The server a home's config names, with the key `stigmer login` stored for it.

        Raises:
            InvalidArgument: The config names no server, or its CA file cannot be read.
        """
        if not config.server:
            raise InvalidArgument(
                "the backend is `cloud`, but no server is configured",
                field="server",
                hint="log in: `stigmer login URL --token KEY`, or `stigmer backend switch local`",
            )
        ca_cert = None
        if config.server_ca_cert:
            try:
                with open(config.server_ca_cert, "rb") as handle:  # noqa: PTH123  # one read, no Path needed
                    ca_cert = handle.read()
            except OSError as exc:
                raise InvalidArgument(
                    f"cannot read the server's CA certificate: {exc}", field="server_ca_cert"
                ) from None
        return cls(config.server, token=load_token(config.home, config.server), ca_cert=ca_cert)

    def _unary(
        self,
        rpc: grpc.UnaryUnaryMultiCallable[Req, Resp],
        request: Req,
        *,
        idempotent: bool = False,
        timeout: float | None = None,
    ) -> Resp:
        attempt = 0
        while True:
            try:
                return rpc(request, timeout=timeout or self.timeout, metadata=self._metadata)
            except grpc.RpcError as exc:
                if idempotent and attempt < self.retries and _code(exc) == grpc.StatusCode.UNAVAILABLE:
                    # Exponential backoff with jitter: 0.1, 0.2, 0.4, 0.8 s (± 25 %).
                    time.sleep(0.1 * 2**attempt * random.uniform(0.75, 1.25))
                    attempt += 1
                    continue
                raise self.error(exc, timeout or self.timeout) from None

    def error(self, exc: grpc.RpcError, timeout: float | None = None) -> StigmerError:
        """The Stigmer exception a failed call stands for."""
        code = _code(exc)
        details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
        metadata: Any = (exc.trailing_metadata() if isinstance(exc, grpc.Call) else None) or ()
        from_server = any(key == ERROR_TYPE for key, _ in metadata)
        if not from_server:
            if code == grpc.StatusCode.UNAVAILABLE:
                return Unavailable(
                    f"cannot reach the Stigmer server at {self.url}: {details}", hint=_UNREACHABLE_HINT
                )
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                return Unavailable(
                    f"the Stigmer server at {self.url} did not answer within {timeout or self.timeout:g}s",
                    hint="it may be overloaded; try again, or check it with `stigmer backend status`",
                )
            if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                return error_from_status(
                    code.name,
                    f"the request is too large for the server: {details}",
                    metadata,
                    hint="send less at once (e.g. apply fewer files), "
                    "or raise the server's limit (`stigmer server --max-request-mb`)",
                )
        return error_from_status(code.name, details or code.name, metadata)

    def health(self) -> str:
        """The server's health ("SERVING", "NOT_SERVING"); needs no key.

        Raises:
            Unavailable: The server cannot be reached.
        """
        from grpc_health.v1 import health_pb2

        check = self._channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        try:
            response = check(health_pb2.HealthCheckRequest(), timeout=min(self.timeout, 5.0))
        except grpc.RpcError as exc:
            raise self.error(exc) from None
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))

    def close(self) -> None:
        self._channel.close()


def _code(exc: grpc.RpcError) -> grpc.StatusCode:
    return exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN


__all__ = ["BULK_TIMEOUT_FACTOR", "DEFAULT_RETRIES", "DEFAULT_TIMEOUT", "RemoteChannel", "parse_server_url"]
