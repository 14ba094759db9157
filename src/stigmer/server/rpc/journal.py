"""The RunJournal part of BackendService: each RPC's request to a Backend call, and back."""

from __future__ import annotations

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.api.executioncontext.v1.executioncontext_pb2 import ExecutionContext
from stigmer.backend.protocol import Backend
from stigmer.backend.wire import pack, unpack_execution
from stigmer.server.rpc.table import Unary


def _update_status(b: Backend, r: pb.UpdateExecutionStatusRequest) -> pb.Resource:
    execution = unpack_execution(r.execution)
    if r.id:
        execution.metadata.id = r.id
    return pack(
        b.update_execution_status(execution, expected_version=r.expected_version, worker_id=r.worker_id)
    )


def _context(b: Backend, r: pb.GetExecutionContextRequest) -> ExecutionContext:
    return b.get_execution_context(r.execution_id, worker_id=r.worker_id)


def _record_step(b: Backend, r: pb.RecordStepRequest) -> pb.ExecutionStep:
    return b.record_step(r.step, worker_id=r.worker_id)


def _claim(b: Backend, r: pb.ClaimExecutionRequest) -> pb.ClaimExecutionResponse:
    claimed = b.claim_execution(
        r.worker_id, kinds=list(r.kinds), lease_seconds=r.lease_seconds or 30, execution_id=r.execution_id
    )
    return pb.ClaimExecutionResponse(execution=pack(claimed)) if claimed else pb.ClaimExecutionResponse()


def _renew(b: Backend, r: pb.RenewLeaseRequest) -> pb.RenewLeaseResponse:
    renewed = b.renew_lease(r.execution_id, r.worker_id, lease_seconds=r.lease_seconds or 30)
    return pb.RenewLeaseResponse(renewed=renewed)


def _count_queued(b: Backend, r: pb.CountQueuedRequest) -> pb.CountQueuedResponse:
    return pb.CountQueuedResponse(queued=b.count_queued())


def _release(b: Backend, r: pb.ReleaseExecutionRequest) -> pb.ReleaseExecutionResponse:
    b.release_execution(r.execution_id, r.worker_id)
    return pb.ReleaseExecutionResponse()


def _store_artifact(b: Backend, r: pb.StoreArtifactRequest) -> pb.Artifact:
    return b.store_artifact(r.data, name=r.name, content_type=r.content_type, execution_id=r.execution_id)


def _get_artifact(b: Backend, r: pb.GetArtifactRequest) -> pb.Artifact:
    return b.get_artifact(r.id)


JOURNAL: Unary = {
    "UpdateExecutionStatus": (pb.UpdateExecutionStatusRequest, _update_status),
    "GetExecutionContext": (pb.GetExecutionContextRequest, _context),
    "RecordStep": (pb.RecordStepRequest, _record_step),
    "ClaimExecution": (pb.ClaimExecutionRequest, _claim),
    "RenewLease": (pb.RenewLeaseRequest, _renew),
    "ReleaseExecution": (pb.ReleaseExecutionRequest, _release),
    "CountQueued": (pb.CountQueuedRequest, _count_queued),
    "StoreArtifact": (pb.StoreArtifactRequest, _store_artifact),
    "GetArtifact": (pb.GetArtifactRequest, _get_artifact),
}

__all__ = ["JOURNAL"]
