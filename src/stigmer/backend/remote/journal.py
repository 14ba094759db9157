"""The RunJournal part over gRPC: claims, leases, status updates, steps, context, artifacts."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.api.executioncontext.v1.executioncontext_pb2 import ExecutionContext
from stigmer.backend.protocol import E
from stigmer.backend.remote.channel import BULK_TIMEOUT_FACTOR, RemoteChannel
from stigmer.backend.wire import (
    pack,
    unpack_as,
    unpack_execution,
)
from stigmer.resources.kinds import Execution


class RemoteRunJournal(RemoteChannel):
    """The RunJournal part of a `stigmer server`."""

    def update_execution_status(self, execution: E, *, expected_version: int = 0, worker_id: str = "") -> E:
        request = pb.UpdateExecutionStatusRequest(
            id=execution.metadata.id,
            execution=pack(execution),
            expected_version=expected_version,
            worker_id=worker_id,
        )
        return unpack_as(type(execution), self._unary(self._stub.UpdateExecutionStatus, request))

    def get_execution_context(self, execution_id: str, *, worker_id: str = "") -> ExecutionContext:
        request = pb.GetExecutionContextRequest(execution_id=execution_id, worker_id=worker_id)
        return self._unary(self._stub.GetExecutionContext, request, idempotent=True)

    def record_step(self, step: pb.ExecutionStep, *, worker_id: str = "") -> pb.ExecutionStep:
        return self._unary(self._stub.RecordStep, pb.RecordStepRequest(step=step, worker_id=worker_id))

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

    def count_queued(self) -> dict[str, int]:
        response = self._unary(self._stub.CountQueued, pb.CountQueuedRequest(), idempotent=True)
        return dict(response.queued)

    def release_execution(self, execution_id: str, worker_id: str) -> None:
        request = pb.ReleaseExecutionRequest(execution_id=execution_id, worker_id=worker_id)
        self._unary(self._stub.ReleaseExecution, request, idempotent=True)

    def store_artifact(
        self, data: bytes, *, name: str, content_type: str = "", execution_id: str = ""
    ) -> pb.Artifact:
        request = pb.StoreArtifactRequest(
            execution_id=execution_id, name=name, content_type=content_type, data=data
        )
        return self._unary(self._stub.StoreArtifact, request, timeout=self.timeout * BULK_TIMEOUT_FACTOR)

    def get_artifact(self, artifact_id: str) -> pb.Artifact:
        return self._unary(self._stub.GetArtifact, pb.GetArtifactRequest(id=artifact_id), idempotent=True)


__all__ = ["RemoteRunJournal"]
