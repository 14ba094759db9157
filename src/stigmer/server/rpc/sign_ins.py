"""The BackendService handlers of MCP OAuth sign-ins (see :mod:`stigmer.backend.local.sign_ins`).

Roles: storing and forgetting a sign-in is an editor's act; reading one (in plaintext) and
writing refreshed tokens belong to the worker that runs an execution.
"""

from __future__ import annotations

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend.protocol import Backend
from stigmer.server.rpc.table import Unary


def _save(b: Backend, r: pb.McpSignIn) -> pb.SaveMcpSignInResponse:
    b.save_mcp_sign_in(r.server, r.credentials)
    return pb.SaveMcpSignInResponse()


def _delete(b: Backend, r: pb.McpSignInRequest) -> pb.DeleteMcpSignInResponse:
    return pb.DeleteMcpSignInResponse(deleted=b.delete_mcp_sign_in(r.server))


def _read(b: Backend, r: pb.McpSignInRequest) -> pb.McpSignIn:
    text = b.read_mcp_sign_in(r.server, execution_id=r.execution_id, worker_id=r.worker_id)
    return pb.McpSignIn(server=r.server, credentials=text)


def _refresh(b: Backend, r: pb.McpSignIn) -> pb.SaveMcpSignInResponse:
    b.refresh_mcp_sign_in(r.server, r.credentials, execution_id=r.execution_id, worker_id=r.worker_id)
    return pb.SaveMcpSignInResponse()


SIGN_INS: Unary = {
    "SaveMcpSignIn": (pb.McpSignIn, _save),
    "DeleteMcpSignIn": (pb.McpSignInRequest, _delete),
    "ReadMcpSignIn": (pb.McpSignInRequest, _read),
    "RefreshMcpSignIn": (pb.McpSignIn, _refresh),
}

# Who may call each (the role table takes these after the roles land).
SIGN_IN_ROLES = {
    "SaveMcpSignIn": "editor",
    "DeleteMcpSignIn": "editor",
    "ReadMcpSignIn": "worker",
    "RefreshMcpSignIn": "worker",
}

__all__ = ["SIGN_INS", "SIGN_IN_ROLES"]
