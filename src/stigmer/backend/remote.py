"""RemoteBackend: the Backend protocol over gRPC, against `stigmer server`.

Each call has a deadline; calls that are safe to repeat (reads, lease renewals, imports)
are retried with backoff when the server is UNAVAILABLE; every error comes back as the
exception LocalBackend raises, with its hint and, for invalid arguments, its field path.
This module imports grpc: only the factory imports it, and only for a cloud backend.
"""

from __future__ import annotations

import builtins
import random
import time
from collections.abc import Generator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import grpc

from stigmer.api.apiresourceversion.v1.apiresourceversion_pb2 import ApiResourceVersion
from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.api.backend.v1.backend_pb2_grpc import BackendServiceStub
from stigmer.api.executioncontext.v1.executioncontext_pb2 import ExecutionContext
from stigmer.backend.protocol import DEFAULT_PAGE_SIZE, ApplyOutcome, E, ExecutionQuery, Page, R
from stigmer.backend.remote_sign_ins import RemoteMcpSignIns
from stigmer.backend.wire import (
    DEFAULT_PORT,
    ERROR_TYPE,
    error_from_status,
    is_loopback,
    pack,
    unpack,
    unpack_as,
    unpack_execution,
)
from stigmer.config import Config, load_token
from stigmer.errors import InvalidArgument, StigmerError, Unavailable
from stigmer.resources.kinds import Execution, Resource, kind_info
from stigmer.version import __version__

Req = TypeVar("Req")
Resp = TypeVar("Resp")

DEFAULT_TIMEOUT = 30.0
# Writes of many resources at once get longer.
BULK_TIMEOUT_FACTOR = 4
DEFAULT_RETRIES = 4
_ACTIONS = {pb.CREATED: "created", pb.CONFIGURED: "configured", pb.UNCHANGED: "unchanged"}
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


class RemoteBackend(RemoteMcpSignIns):
    """The Backend of a `stigmer server`.

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
    def from_config(cls, config: Config) -> RemoteBackend:
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

    # -- calls ---------------------------------------------------------------------------

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

    # -- resources -----------------------------------------------------------------------

    def create(self, resource: R) -> R:
        wire = self._unary(self._stub.CreateResource, pb.CreateResourceRequest(resource=pack(resource)))
        return unpack_as(type(resource), wire)

    def get(self, kind: type[R], ref: str) -> R:
        request = pb.GetResourceRequest(kind=kind_info(kind).kind, ref=ref)
        return unpack_as(kind, self._unary(self._stub.GetResource, request, idempotent=True))

    def update(self, resource: R) -> R:
        wire = self._unary(self._stub.UpdateResource, pb.UpdateResourceRequest(resource=pack(resource)))
        return unpack_as(type(resource), wire)

    def apply(self, resources: Sequence[Resource], *, dry_run: bool = False) -> builtins.list[ApplyOutcome]:
        request = pb.ApplyResourcesRequest(resources=[pack(r) for r in resources], dry_run=dry_run)
        response = self._unary(self._stub.ApplyResources, request, timeout=self.timeout * BULK_TIMEOUT_FACTOR)
        return [
            ApplyOutcome(unpack(o.resource), _ACTIONS.get(o.action, "unchanged"), list(o.warnings))
            for o in response.outcomes
        ]

    def delete(self, kind: type[R], ref: str) -> R:
        request = pb.DeleteResourceRequest(kind=kind_info(kind).kind, ref=ref)
        return unpack_as(kind, self._unary(self._stub.DeleteResource, request))

    def list(
        self,
        kind: type[R],
        *,
        labels: dict[str, str] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str = "",
    ) -> Page[R]:
        request = pb.ListResourcesRequest(
            kind=kind_info(kind).kind, labels=labels or {}, page_size=page_size, page_token=page_token
        )
        response = self._unary(self._stub.ListResources, request, idempotent=True)
        return Page([unpack_as(kind, i) for i in response.items], response.next_page_token)

    def history(self, kind: type[Resource], ref: str) -> builtins.list[ApiResourceVersion]:
        request = pb.GetHistoryRequest(kind=kind_info(kind).kind, ref=ref)
        return builtins.list(self._unary(self._stub.GetHistory, request, idempotent=True).versions)

    def rollback(self, kind: type[R], ref: str, version: int) -> R:
        request = pb.RollbackRequest(kind=kind_info(kind).kind, ref=ref, to_version=version)
        return unpack_as(kind, self._unary(self._stub.Rollback, request))

    def import_resources(self, resources: Sequence[Resource]) -> int:
        # Importing the same resources twice changes nothing, so a retry is safe.
        request = pb.ImportResourcesRequest(resources=[pack(r) for r in resources])
        timeout = self.timeout * BULK_TIMEOUT_FACTOR
        return self._unary(self._stub.ImportResources, request, idempotent=True, timeout=timeout).imported

    # -- executions ----------------------------------------------------------------------

    def create_execution(self, execution: E) -> E:
        request = pb.CreateExecutionRequest(execution=pack(execution))
        return unpack_as(type(execution), self._unary(self._stub.CreateExecution, request))

    def get_execution(self, execution_id: str) -> Execution:
        wire = self._unary(self._stub.GetExecution, pb.GetExecutionRequest(id=execution_id), idempotent=True)
        return unpack_execution(wire)

    def update_execution_status(self, execution: E, *, expected_version: int = 0, worker_id: str = "") -> E:
        request = pb.UpdateExecutionStatusRequest(
            id=execution.metadata.id,
            execution=pack(execution),
            expected_version=expected_version,
            worker_id=worker_id,
        )
        return unpack_as(type(execution), self._unary(self._stub.UpdateExecutionStatus, request))

    def list_executions(self, query: ExecutionQuery) -> Page[Execution]:
        request = pb.ListExecutionsRequest(
            kind=query.kind,
            phase=query.phase,
            parent_execution_id=query.parent_execution_id,
            session=query.session,
            definition=query.definition,
            labels=query.labels,
            page_size=query.page_size,
            page_token=query.page_token,
        )
        response = self._unary(self._stub.ListExecutions, request, idempotent=True)
        return Page([unpack_execution(i) for i in response.items], response.next_page_token)

    def cancel_execution(self, execution_id: str) -> Execution:
        return unpack_execution(
            self._unary(self._stub.CancelExecution, pb.CancelExecutionRequest(id=execution_id))
        )

    def prune_executions(
        self, older_than_seconds: int, *, kind: str = "", dry_run: bool = False
    ) -> pb.PruneResult:
        request = pb.PruneExecutionsRequest(older_than_seconds=older_than_seconds, kind=kind, dry_run=dry_run)
        return self._unary(self._stub.PruneExecutions, request, timeout=self.timeout * BULK_TIMEOUT_FACTOR)

    def get_execution_context(self, execution_id: str, *, worker_id: str = "") -> ExecutionContext:
        request = pb.GetExecutionContextRequest(execution_id=execution_id, worker_id=worker_id)
        return self._unary(self._stub.GetExecutionContext, request, idempotent=True)

    def record_step(self, step: pb.ExecutionStep, *, worker_id: str = "") -> pb.ExecutionStep:
        return self._unary(self._stub.RecordStep, pb.RecordStepRequest(step=step, worker_id=worker_id))

    def list_steps(self, execution_id: str, *, after: int = 0) -> builtins.list[pb.ExecutionStep]:
        request = pb.ListStepsRequest(execution_id=execution_id, after_step=after)
        return builtins.list(self._unary(self._stub.ListSteps, request, idempotent=True).steps)

    def watch_execution(
        self, execution_id: str, *, after_sequence: int = 0
    ) -> Generator[pb.ExecutionEvent, None, None]:
        self.get_execution(execution_id)  # NotFound now, as LocalBackend, not at the first event
        request = pb.WatchExecutionRequest(execution_id=execution_id, after_sequence=after_sequence)
        return self._events(self._stub.WatchExecution(request, metadata=self._metadata))

    def _events(self, call: Any) -> Generator[pb.ExecutionEvent, None, None]:
        try:
            yield from call
        except grpc.RpcError as exc:
            raise self.error(exc) from None
        finally:
            call.cancel()

    def claim_execution(
        self, worker_id: str, *, kinds: Sequence[str] = (), lease_seconds: int = 30, execution_id: str = ""
    ) -> Execution | None:
        request = pb.ClaimExecutionRequest(
            worker_id=worker_id,
            kinds=builtins.list(kinds),
            lease_seconds=lease_seconds,
            execution_id=execution_id,
        )
        response = self._unary(self._stub.ClaimExecution, request)
        return unpack_execution(response.execution) if response.HasField("execution") else None

    def renew_lease(self, execution_id: str, worker_id: str, *, lease_seconds: int = 30) -> bool:
        request = pb.RenewLeaseRequest(
            execution_id=execution_id, worker_id=worker_id, lease_seconds=lease_seconds
        )
        return self._unary(self._stub.RenewLease, request, idempotent=True).renewed

    def release_execution(self, execution_id: str, worker_id: str) -> None:
        request = pb.ReleaseExecutionRequest(execution_id=execution_id, worker_id=worker_id)
        self._unary(self._stub.ReleaseExecution, request, idempotent=True)

    def resolve_approval(self, execution_id: str, *, approved: bool, reason: str = "") -> Execution:
        request = pb.ResolveApprovalRequest(execution_id=execution_id, approved=approved, reason=reason)
        return unpack_execution(self._unary(self._stub.ResolveApproval, request))

    # -- artifacts, secrets, info --------------------------------------------------------

    def store_artifact(
        self, data: bytes, *, name: str, content_type: str = "", execution_id: str = ""
    ) -> pb.Artifact:
        request = pb.StoreArtifactRequest(
            execution_id=execution_id, name=name, content_type=content_type, data=data
        )
        return self._unary(self._stub.StoreArtifact, request, timeout=self.timeout * BULK_TIMEOUT_FACTOR)

    def get_artifact(self, artifact_id: str) -> pb.Artifact:
        return self._unary(self._stub.GetArtifact, pb.GetArtifactRequest(id=artifact_id), idempotent=True)

    def reveal_secret(self, environment: str, key: str) -> str:
        request = pb.RevealSecretRequest(environment=environment, key=key)
        return self._unary(self._stub.RevealSecret, request, idempotent=True).value

    def rotate_master_key(self) -> int:
        request = pb.RotateMasterKeyRequest()
        return self._unary(
            self._stub.RotateMasterKey, request, timeout=self.timeout * BULK_TIMEOUT_FACTOR
        ).resealed

    def info(self) -> pb.BackendInfo:
        info = self._unary(self._stub.GetBackendInfo, pb.GetBackendInfoRequest(), idempotent=True)
        info.type, info.url = "remote", self.url
        return info

    def close(self) -> None:
        self._channel.close()


def _code(exc: grpc.RpcError) -> grpc.StatusCode:
    return exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN


__all__ = ["DEFAULT_TIMEOUT", "RemoteBackend", "parse_server_url"]
