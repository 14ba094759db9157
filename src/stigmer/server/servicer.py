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
from stigmer.backend import roles
from stigmer.backend.protocol import Backend
from stigmer.backend.watch import ChangeFeed, ExecutionWatch
from stigmer.backend.wire import error_status
from stigmer.errors import InvalidArgument, StigmerError, Unavailable
from stigmer.policy import OPEN, ExecutionPolicy
from stigmer.server.auth import current_key, current_role
from stigmer.server.code_policy import refuse_disallowed_code
from stigmer.server.rpc import API_KEYS, EXECUTIONS, JOURNAL, RESOURCES, SIGN_INS, Unary

SERVICE = "stigmer.backend.v1.BackendService"
WATCH_POLL_SECONDS = 0.1
# With a change feed, a watch wakes when the run changes and polls only this often besides.
FED_WATCH_POLL_SECONDS = 2.0
log = logging.getLogger("stigmer.server")
T = TypeVar("T")
M = TypeVar("M", bound=Message)


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


# The parts' tables; a new part adds its table here.
PARTS: tuple[Unary, ...] = (RESOURCES, EXECUTIONS, JOURNAL, SIGN_INS, API_KEYS)
UNARY: Unary = {name: handler for part in PARTS for name, handler in part.items()}


class BackendServicer:
    """The handlers of BackendService over a :class:`BackendPool`.

    Args:
        pool: Where backend calls run.
        stopping: Set when the server shuts down; open watches end with UNAVAILABLE so
            their clients reconnect (to this server once it is back, or another).
        policy: What resources applied here may ask the server's host to run (stigmer.policy).
        changes: Wakes a watch when its run changes, whichever process wrote it (PostgreSQL's
            notifications); without it, watches poll the store every ``WATCH_POLL_SECONDS``.
    """

    def __init__(
        self,
        pool: BackendPool,
        *,
        stopping: asyncio.Event | None = None,
        policy: ExecutionPolicy = OPEN,
        changes: ChangeFeed | None = None,
    ) -> None:
        self.pool = pool
        self.policy = policy
        self.stopping = stopping or asyncio.Event()
        self.changes = changes
        self.watch_poll_seconds = FED_WATCH_POLL_SECONDS if changes else WATCH_POLL_SECONDS

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
            key, role = current_key(), current_role()
            try:
                request = _parse(cls, raw)
                roles.check_request(role, name, request, key)
                refuse_disallowed_code(self.policy, name, request)
                response = await self.pool.run(lambda b: impl(b, request), actor=f"key:{key}" if key else "")
                if isinstance(response, pb.BackendInfo):
                    response.api_key = key
                    response.api_key_role = str(role) if key else ""
            except StigmerError as exc:
                await _abort(context, exc)
            except Exception:
                log.exception("%s failed", name)
                await context.abort(grpc.StatusCode.INTERNAL, f"{name} failed on the server; see its log")
            return response.SerializeToString()

        return behavior

    async def _watch(self, raw: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[bytes]:
        changed = asyncio.Event()
        unsubscribe: Callable[[], None] | None = None
        try:
            request = _parse(pb.WatchExecutionRequest, raw)
            watch = ExecutionWatch(request.execution_id, request.after_sequence)
            if self.changes is not None:
                loop = asyncio.get_running_loop()

                def wake() -> None:  # on the feed's thread
                    loop.call_soon_threadsafe(changed.set)

                unsubscribe = self.changes.subscribe(request.execution_id, wake)
            while True:
                changed.clear()  # before reading: a change during the read wakes the next wait
                events = await self.pool.run(watch.poll)
                for event in events:
                    yield event.SerializeToString()
                if watch.finished:
                    return
                if await self._stopping_within(self.watch_poll_seconds, changed):
                    raise Unavailable(
                        "the server is shutting down",
                        hint=f"watch again after sequence {watch.cursor} (the CLI reconnects by itself)",
                    )
        except StigmerError as exc:
            await _abort(context, exc)
        except Exception:
            log.exception("WatchExecution failed")
            await context.abort(grpc.StatusCode.INTERNAL, "WatchExecution failed on the server; see its log")
        finally:
            if unsubscribe is not None:
                unsubscribe()

    async def _stopping_within(self, seconds: float, changed: asyncio.Event) -> bool:
        """Wait until the server stops (True), or ``changed`` is set or ``seconds`` pass (False)."""
        if self.changes is None:
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
            except TimeoutError:
                return False
            return True
        waits = {asyncio.ensure_future(self.stopping.wait()), asyncio.ensure_future(changed.wait())}
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        return self.stopping.is_set()


__all__ = ["PARTS", "SERVICE", "UNARY", "BackendPool", "BackendServicer"]
