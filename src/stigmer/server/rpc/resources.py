"""The Resources part of BackendService: each RPC's request to a Backend call, and back."""

from __future__ import annotations

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend.protocol import Backend
from stigmer.backend.wire import pack, unpack
from stigmer.resources.kinds import kind_info
from stigmer.server.rpc.table import Unary

ACTIONS = {"created": pb.CREATED, "configured": pb.CONFIGURED, "unchanged": pb.UNCHANGED}


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


def _reveal(b: Backend, r: pb.RevealSecretRequest) -> pb.RevealSecretResponse:
    return pb.RevealSecretResponse(value=b.reveal_secret(r.environment, r.key))


def _rotate(b: Backend, r: pb.RotateMasterKeyRequest) -> pb.RotateMasterKeyResponse:
    return pb.RotateMasterKeyResponse(resealed=b.rotate_master_key())


def _info(b: Backend, r: pb.GetBackendInfoRequest) -> pb.BackendInfo:
    return b.info()


RESOURCES: Unary = {
    "CreateResource": (pb.CreateResourceRequest, _create),
    "GetResource": (pb.GetResourceRequest, _get),
    "UpdateResource": (pb.UpdateResourceRequest, _update),
    "ApplyResources": (pb.ApplyResourcesRequest, _apply),
    "DeleteResource": (pb.DeleteResourceRequest, _delete),
    "ListResources": (pb.ListResourcesRequest, _list),
    "GetHistory": (pb.GetHistoryRequest, _history),
    "Rollback": (pb.RollbackRequest, _rollback),
    "ImportResources": (pb.ImportResourcesRequest, _import),
    "RevealSecret": (pb.RevealSecretRequest, _reveal),
    "RotateMasterKey": (pb.RotateMasterKeyRequest, _rotate),
    "GetBackendInfo": (pb.GetBackendInfoRequest, _info),
}

__all__ = ["ACTIONS", "RESOURCES"]
