"""The Executions part over gRPC: create, get, list, cancel, approve, watch, steps, prune."""

from __future__ import annotations

import builtins
from collections.abc import Generator
from typing import Any

import grpc

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend.protocol import E, ExecutionQuery, Page
from stigmer.backend.remote.channel import BULK_TIMEOUT_FACTOR, RemoteChannel
from stigmer.backend.wire import (
    pack,
    unpack_as,
    unpack_execution,
)
from stigmer.resources.kinds import Execution


class RemoteExecutions(RemoteChannel):
    """The Executions part of a `stigmer server`."""

    def create_execution(self, execution: E) -> E:
        request = pb.CreateExecutionRequest(execution=pack(execution))
        return unpack_as(type(execution), self._unary(self._stub.CreateExecution, request))

    def get_execution(self, execution_id: str) -> Execution:
        wire = self._unary(self._stub.GetExecution, pb.GetExecutionRequest(id=execution_id), idempotent=True)
        return unpack_execution(wire)

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

    def resolve_approval(self, execution_id: str, *, approved: bool, reason: str = "") -> Execution:
        request = pb.ResolveApprovalRequest(execution_id=execution_id, approved=approved, reason=reason)
        return unpack_execution(self._unary(self._stub.ResolveApproval, request))

    def respond(
        self, execution_id: str, *, action: str = "accept", content: dict[str, Any] | None = None
    ) -> Execution:
        request = pb.RespondRequest(execution_id=execution_id, action=action)
        if content:
            request.content.update(content)
        return unpack_execution(self._unary(self._stub.Respond, request))


__all__ = ["RemoteExecutions"]
