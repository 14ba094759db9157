"""The Executions part of BackendService: each RPC's request to a Backend call, and back."""

from __future__ import annotations

from google.protobuf.json_format import MessageToDict

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend.protocol import Backend, ExecutionQuery
from stigmer.backend.wire import pack, unpack_execution
from stigmer.resources.steps import plain
from stigmer.server.rpc.table import Unary


def _create_execution(b: Backend, r: pb.CreateExecutionRequest) -> pb.Resource:
    return pack(b.create_execution(unpack_execution(r.execution)))


def _get_execution(b: Backend, r: pb.GetExecutionRequest) -> pb.Resource:
    return pack(b.get_execution(r.id))


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


def _list_steps(b: Backend, r: pb.ListStepsRequest) -> pb.ListStepsResponse:
    return pb.ListStepsResponse(steps=b.list_steps(r.execution_id, after=r.after_step))


def _resolve(b: Backend, r: pb.ResolveApprovalRequest) -> pb.Resource:
    return pack(b.resolve_approval(r.execution_id, approved=r.approved, reason=r.reason))


def _respond(b: Backend, r: pb.RespondRequest) -> pb.Resource:
    content = plain(MessageToDict(r.content)) if r.HasField("content") else None
    return pack(b.respond(r.execution_id, action=r.action or "accept", content=content))


EXECUTIONS: Unary = {
    "CreateExecution": (pb.CreateExecutionRequest, _create_execution),
    "GetExecution": (pb.GetExecutionRequest, _get_execution),
    "ListExecutions": (pb.ListExecutionsRequest, _list_executions),
    "CancelExecution": (pb.CancelExecutionRequest, _cancel),
    "PruneExecutions": (pb.PruneExecutionsRequest, _prune),
    "ListSteps": (pb.ListStepsRequest, _list_steps),
    "ResolveApproval": (pb.ResolveApprovalRequest, _resolve),
    "Respond": (pb.RespondRequest, _respond),
}

__all__ = ["EXECUTIONS"]
