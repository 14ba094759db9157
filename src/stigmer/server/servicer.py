"""BackendService over any Backend: requests become Backend calls, errors become statuses.

The handlers take and return raw bytes and parse requests themselves, so a request that
is not a valid message is INVALID_ARGUMENT (gRPC's own parsing would say INTERNAL). Each
call runs on a thread of a :class:`BackendPool`; a stream polls between calls without
holding a thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.api.executioncontext.v1.executioncontext_pb2 import ExecutionContext
from stigmer.backend.protocol import Backend, ExecutionQuery
from stigmer.backend.watch import ExecutionWatch
from stigmer.backend.wire import error_status, pack, unpack, unpack_execution
from stigmer.errors import InvalidArgument, StigmerError, Unavailable
from stigmer.resources.kinds import kind_info
from stigmer.server.auth import current_key
from stigmer.server.sign_ins import SIGN_IN_RPCS

SERVICE = "stigmer.backend.v1.BackendService"
WATCH_POLL_SECONDS = 0.1
log = logging.getLogger("stigmer.server")
T = TypeVar("T")
M = TypeVar("M", bound=Message)
ACTIONS = {"created": pb.CREATED, "configured": pb.CONFIGURED, "unchanged": pb.UNCHANGED}


class BackendPool:
    """The threads that run Backend calls, each with a backend of its own.

    SQLite connections belong to one thread, so each thread opens its backend on first use
    (``open_backend``); they are all closed by :meth:`close`.
    """

    def __init__(self, open_backend: Callable[[], Backend], *, threads: int = 8) -> None:
        self.open_backend = open_backend
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="stigmer-rpc")
        self._local = threading.local()
        self._opened: list[Backend] = []
        self._lock = threading.Lock()

    def _backend(self) -> Backend:
        backend: Backend | None = getattr(self._local, "backend", None)
        if backend is None:
            backend = self.open_backend()
            self._local.backend = backend
            with self._lock:
                self._opened.append(backend)
        return backend

    def _call(self, fn: Callable[[Backend], T], actor: str) -> T:
        backend = self._backend()
        if actor and hasattr(backend, "actor"):
            backend.actor = actor  # LocalBackend records who wrote in history and audit columns
        return fn(backend)

    async def run(self, fn: Callable[[Backend], T], *, actor: str = "") -> T:
        """``fn(backend)`` on a pool thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._call, fn, actor)

    def close(self) -> None:
        """Wait for running calls, then close every backend."""
        self.executor.shutdown(wait=True)
        with self._lock:
            for backend in self._opened:
                backend.close()
            self._opened.clear()


def _parse(cls: type[M], raw: bytes) -> M:
    message = cls()
    try:
        message.ParseFromString(raw)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InvalidArgument(
            f"the request is not a valid {cls.DESCRIPTOR.full_name} message ({exc})",
            hint="send requests built from stigmer's proto/ definitions",
        ) from None
    return message


async def _abort(context: grpc.aio.ServicerContext[Any, Any], exc: StigmerError) -> NoReturn:
    code, details, metadata = error_status(exc)
    status = getattr(grpc.StatusCode, code, grpc.StatusCode.UNKNOWN)
    await context.abort(status, details, tuple(metadata))


# -- the unary methods: (backend, request) -> response ----------------------------------------


def _create(b: Backend, r: pb.CreateResourceRequest) -> pb.Resource:
    return pack(b.create(unpack(r.resource)))


def _get(b: Backend, r: pb.GetResourceRequest) -> pb.Resource:
    return pack(b.get(kind_info(r.kind).message, r.ref))


def _update(b: Backend, r: pb.UpdateResourceRequest) -> pb.Resource:
    return pack(b.update(unpack(r.resource)))


def _apply(b: Backend, r: pb.ApplyResourcesRequest) -> pb.ApplyResourcesResponse:
    outcomes = b.apply([unpack(w) for w in r.resources], dry_run=r.dry_run)
    return pb.ApplyResourcesResponse(
        outcomes=[
            pb.ApplyOutcome(resource=pack(o.resource), action=ACTIONS[o.action], warnings=o.warnings)
            for o in outcomes
        ]
    )


def _delete(b: Backend, r: pb.DeleteResourceRequest) -> pb.Resource:
    return pack(b.delete(kind_info(r.kind).message, r.ref))


def _list(b: Backend, r: pb.ListResourcesRequest) -> pb.ListResourcesResponse:
    page = b.list(
        kind_info(r.kind).message, labels=dict(r.labels), page_size=r.page_size, page_token=r.page_token
    )
    return pb.ListResourcesResponse(items=[pack(i) for i in page.items], next_page_token=page.next_page_token)


def _history(b: Backend, r: pb.GetHistoryRequest) -> pb.GetHistoryResponse:
    return pb.GetHistoryResponse(versions=b.history(kind_info(r.kind).message, r.ref))


def _rollback(b: Backend, r: pb.RollbackRequest) -> pb.Resource:
    return pack(b.rollback(kind_info(r.kind).message, r.ref, r.to_version))


def _import(b: Backend, r: pb.ImportResourcesRequest) -> pb.ImportResourcesResponse:
    return pb.ImportResourcesResponse(imported=b.import_resources([unpack(w) for w in r.resources]))


def _create_execution(b: Backend, r: pb.CreateExecutionRequest) -> pb.Resource:
    return pack(b.create_execution(unpack_execution(r.execution)))


def _get_execution(b: Backend, r: pb.GetExecutionRequest) -> pb.Resource:
    return pack(b.get_execution(r.id))


def _update_status(b: Backend, r: pb.UpdateExecutionStatusRequest) -> pb.Resource:
    execution = unpack_execution(r.execution)
    if r.id:
        execution.metadata.id = r.id
    return pack(
        b.update_execution_status(execution, expected_version=r.expected_version, worker_id=r.worker_id)
    )


def _list_executions(b: Backend, r: pb.ListExecutionsRequest) -> pb.ListExecutionsResponse:
    query = ExecutionQuery(
        kind=r.kind,
        phase=r.phase,
        parent_execution_id=r.parent_execution_id,
        session=r.session,
        definition=r.definition,
        labels=dict(r.labels),
        page_size=r.page_size,
        page_token=r.page_token,
    )
    page = b.list_executions(query)
    return pb.ListExecutionsResponse(
        items=[pack(i) for i in page.items], next_page_token=page.next_page_token
    )


def _cancel(b: Backend, r: pb.CancelExecutionRequest) -> pb.Resource:
    return pack(b.cancel_execution(r.id))


def _prune(b: Backend, r: pb.PruneExecutionsRequest) -> pb.PruneResult:
    return b.prune_executions(r.older_than_seconds, kind=r.kind, dry_run=r.dry_run)


def _context(b: Backend, r: pb.GetExecutionContextRequest) -> ExecutionContext:
    return b.get_execution_context(r.execution_id, worker_id=r.worker_id)


def _record_step(b: Backend, r: pb.RecordStepRequest) -> pb.ExecutionStep:
    return b.record_step(r.step, worker_id=r.worker_id)


def _list_steps(b: Backend, r: pb.ListStepsRequest) -> pb.ListStepsResponse:
    return pb.ListStepsResponse(steps=b.list_steps(r.execution_id, after=r.after_step))


def _claim(b: Backend, r: pb.ClaimExecutionRequest) -> pb.ClaimExecutionResponse:
    claimed = b.claim_execution(
        r.worker_id, kinds=list(r.kinds), lease_seconds=r.lease_seconds or 30, execution_id=r.execution_id
    )
    return pb.ClaimExecutionResponse(execution=pack(claimed)) if claimed else pb.ClaimExecutionResponse()


def _renew(b: Backend, r: pb.RenewLeaseRequest) -> pb.RenewLeaseResponse:
    renewed = b.renew_lease(r.execution_id, r.worker_id, lease_seconds=r.lease_seconds or 30)
    return pb.RenewLeaseResponse(renewed=renewed)


def _release(b: Backend, r: pb.ReleaseExecutionRequest) -> pb.ReleaseExecutionResponse:
    b.release_execution(r.execution_id, r.worker_id)
    return pb.ReleaseExecutionResponse()


def _resolve(b: Backend, r: pb.ResolveApprovalRequest) -> pb.Resource:
    return pack(b.resolve_approval(r.execution_id, approved=r.approved, reason=r.reason))


def _store_artifact(b: Backend, r: pb.StoreArtifactRequest) -> pb.Artifact:
    return b.store_artifact(r.data, name=r.name, content_type=r.content_type, execution_id=r.execution_id)


def _get_artifact(b: Backend, r: pb.GetArtifactRequest) -> pb.Artifact:
    return b.get_artifact(r.id)


def _reveal(b: Backend, r: pb.RevealSecretRequest) -> pb.RevealSecretResponse:
    return pb.RevealSecretResponse(value=b.reveal_secret(r.environment, r.key))


def _rotate(b: Backend, r: pb.RotateMasterKeyRequest) -> pb.RotateMasterKeyResponse:
    return pb.RotateMasterKeyResponse(resealed=b.rotate_master_key())


def _info(b: Backend, r: pb.GetBackendInfoRequest) -> pb.BackendInfo:
    return b.info()


UNARY: dict[str, tuple[type[Message], Callable[[Backend, Any], Message]]] = {
    "CreateResource": (pb.CreateResourceRequest, _create),
    "GetResource": (pb.GetResourceRequest, _get),
    "UpdateResource": (pb.UpdateResourceRequest, _update),
    "ApplyResources": (pb.ApplyResourcesRequest, _apply),
    "DeleteResource": (pb.DeleteResourceRequest, _delete),
    "ListResources": (pb.ListResourcesRequest, _list),
    "GetHistory": (pb.GetHistoryRequest, _history),
    "Rollback": (pb.RollbackRequest, _rollback),
    "ImportResources": (pb.ImportResourcesRequest, _import),
    "CreateExecution": (pb.CreateExecutionRequest, _create_execution),
    "GetExecution": (pb.GetExecutionRequest, _get_execution),
    "UpdateExecutionStatus": (pb.UpdateExecutionStatusRequest, _update_status),
    "ListExecutions": (pb.ListExecutionsRequest, _list_executions),
    "CancelExecution": (pb.CancelExecutionRequest, _cancel),
    "PruneExecutions": (pb.PruneExecutionsRequest, _prune),
    "GetExecutionContext": (pb.GetExecutionContextRequest, _context),
    "RecordStep": (pb.RecordStepRequest, _record_step),
    "ListSteps": (pb.ListStepsRequest, _list_steps),
    "ClaimExecution": (pb.ClaimExecutionRequest, _claim),
    "RenewLease": (pb.RenewLeaseRequest, _renew),
    "ReleaseExecution": (pb.ReleaseExecutionRequest, _release),
    "ResolveApproval": (pb.ResolveApprovalRequest, _resolve),
    "StoreArtifact": (pb.StoreArtifactRequest, _store_artifact),
    "GetArtifact": (pb.GetArtifactRequest, _get_artifact),
    "RevealSecret": (pb.RevealSecretRequest, _reveal),
    "RotateMasterKey": (pb.RotateMasterKeyRequest, _rotate),
    "GetBackendInfo": (pb.GetBackendInfoRequest, _info),
    **SIGN_IN_RPCS,
}


class BackendServicer:
    """The handlers of BackendService over a :class:`BackendPool`.

    Args:
        pool: Where backend calls run.
        stopping: Set when the server shuts down; open watches end with UNAVAILABLE so
            their clients reconnect (to this server once it is back, or another).
    """

    def __init__(self, pool: BackendPool, *, stopping: asyncio.Event | None = None) -> None:
        self.pool = pool
        self.stopping = stopping or asyncio.Event()
        self.watch_poll_seconds = WATCH_POLL_SECONDS

    def generic_handler(self) -> grpc.GenericRpcHandler:
        """Every method of the service, for ``server.add_generic_rpc_handlers``."""
        handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
            name: grpc.unary_unary_rpc_method_handler(self._unary(name, cls, impl))
            for name, (cls, impl) in UNARY.items()
        }
        handlers["WatchExecution"] = grpc.unary_stream_rpc_method_handler(self._watch)
        missing = set(pb.DESCRIPTOR.services_by_name["BackendService"].methods_by_name) - set(handlers)
        assert not missing, f"BackendService methods without a handler: {sorted(missing)}"
        return grpc.method_handlers_generic_handler(SERVICE, handlers)

    def _unary(
        self, name: str, cls: type[Message], impl: Callable[[Backend, Any], Message]
    ) -> Callable[[bytes, grpc.aio.ServicerContext[Any, Any]], Any]:
        async def behavior(raw: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
            key = current_key()
            try:
                request = _parse(cls, raw)
                response = await self.pool.run(lambda b: impl(b, request), actor=f"key:{key}" if key else "")
                if isinstance(response, pb.BackendInfo):
                    response.api_key = key
            except StigmerError as exc:
                await _abort(context, exc)
            except Exception:
                log.exception("%s failed", name)
                await context.abort(grpc.StatusCode.INTERNAL, f"{name} failed on the server; see its log")
            return response.SerializeToString()

        return behavior

    async def _watch(self, raw: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[bytes]:
        try:
            request = _parse(pb.WatchExecutionRequest, raw)
            watch = ExecutionWatch(request.execution_id, request.after_sequence)
            while True:
                events = await self.pool.run(watch.poll)
                for event in events:
                    yield event.SerializeToString()
                if watch.finished:
                    return
                if await self._stopping_within(self.watch_poll_seconds):
                    raise Unavailable(
                        "the server is shutting down",
                        hint=f"watch again after sequence {watch.cursor} (the CLI reconnects by itself)",
                    )
        except StigmerError as exc:
            await _abort(context, exc)
        except Exception:
            log.exception("WatchExecution failed")
            await context.abort(grpc.StatusCode.INTERNAL, "WatchExecution failed on the server; see its log")

    async def _stopping_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True


__all__ = ["SERVICE", "UNARY", "BackendPool", "BackendServicer"]
