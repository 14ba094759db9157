"""The Resources part over gRPC: CRUD, history, rollback, import, secrets, info."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from stigmer.api.apiresourceversion.v1.apiresourceversion_pb2 import ApiResourceVersion
from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend.protocol import DEFAULT_PAGE_SIZE, ApplyOutcome, Page, R
from stigmer.backend.remote.channel import BULK_TIMEOUT_FACTOR, RemoteChannel
from stigmer.backend.wire import (
    pack,
    unpack,
    unpack_as,
)
from stigmer.resources.kinds import Resource, kind_info

_ACTIONS = {pb.CREATED: "created", pb.CONFIGURED: "configured", pb.UNCHANGED: "unchanged"}


class RemoteResources(RemoteChannel):
    """The Resources part of a `stigmer server`."""

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


__all__ = ["RemoteResources"]
