"""MCP OAuth sign-ins through the Backend protocol: stored sealed, shown as state only, read
in plaintext by a running execution's worker, refreshed by it, forgotten on logout."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import Backend
from stigmer.errors import Conflict, NotFound, StigmerError
from stigmer.resources.codec import to_dict
from tests.builders import agent, agent_execution, mcp_server

WORKER = "tests:1:sign-ins"
ACCESS = "at-0123456789-secret"
REFRESH = "rt-9876543210-secret"


def credentials(access: str = ACCESS, expires_at: float | None = 4102444800.0) -> str:
    tokens = {"access_token": access, "token_type": "Bearer", "refresh_token": REFRESH, "scope": "notes:read"}
    return json.dumps({"tokens": tokens, "client": {"client_id": "cid-1"}, "expiresAt": expires_at})


@pytest.fixture
def notes(backend: Backend) -> McpServer:
    return backend.create(mcp_server("notes", http={"url": "http://127.0.0.1:1/mcp"}))


def test_a_sign_in_shows_as_state_never_as_tokens(backend: Backend, notes: McpServer) -> None:
    assert not backend.get(McpServer, "notes").status.sign_in.signed_in
    backend.save_mcp_sign_in("notes", credentials())
    shown = backend.get(McpServer, "notes")
    listed = backend.list(McpServer).items[0]
    for server in (shown, listed):
        sign_in = server.status.sign_in
        assert (sign_in.signed_in, sign_in.refreshable, sign_in.scope) == (True, True, "notes:read")
        assert sign_in.expires_at.ToJsonString() == "2100-01-01T00:00:00Z"
    everything = repr(
        [to_dict(shown), to_dict(listed), [to_dict(v) for v in backend.history(McpServer, "notes")]]
    )
    assert ACCESS not in everything and REFRESH not in everything


def test_a_running_execution_reads_and_refreshes_the_sign_in(backend: Backend, notes: McpServer) -> None:
    backend.save_mcp_sign_in("notes", credentials())
    backend.apply([agent("bot")])
    created = backend.create_execution(agent_execution("bot"))
    execution_id = created.metadata.id
    with pytest.raises(Conflict, match="PENDING"):
        backend.read_mcp_sign_in("notes", execution_id=execution_id, worker_id=WORKER)
    claimed = backend.claim_execution(WORKER, execution_id=execution_id)
    assert isinstance(claimed, AgentExecution)

    read = json.loads(backend.read_mcp_sign_in("notes", execution_id=execution_id, worker_id=WORKER))
    assert read["tokens"]["access_token"] == ACCESS and read["client"] == {"client_id": "cid-1"}
    with pytest.raises(Conflict, match="no longer holds the lease"):
        backend.read_mcp_sign_in("notes", execution_id=execution_id, worker_id="tests:2:other")

    backend.refresh_mcp_sign_in(
        "notes", credentials("at-new", None), execution_id=execution_id, worker_id=WORKER
    )
    assert json.loads(backend.read_mcp_sign_in("notes"))["tokens"]["access_token"] == "at-new"
    assert not backend.get(McpServer, "notes").status.sign_in.HasField("expires_at")
    with pytest.raises(Conflict, match="no longer holds the lease"):
        backend.refresh_mcp_sign_in(
            "notes", credentials(), execution_id=execution_id, worker_id="tests:2:other"
        )


def test_logout_forgets_and_a_deleted_server_takes_its_sign_in_along(
    backend: Backend, notes: McpServer
) -> None:
    backend.save_mcp_sign_in("notes", credentials())
    assert backend.delete_mcp_sign_in("notes") is True
    assert backend.read_mcp_sign_in("notes") == ""
    assert backend.delete_mcp_sign_in("notes") is False

    backend.save_mcp_sign_in("notes", credentials())
    backend.delete(McpServer, "notes")
    backend.create(mcp_server("notes", http={"url": "http://127.0.0.1:1/mcp"}))
    assert backend.read_mcp_sign_in("notes") == ""


def test_bad_input_is_refused_and_nothing_is_stored(backend: Backend, notes: McpServer) -> None:
    with pytest.raises(NotFound, match="McpServer 'nope' not found"):
        backend.save_mcp_sign_in("nope", credentials())
    for bad in ("not json", json.dumps({"tokens": {}}), json.dumps({"client": {}})):
        with pytest.raises(StigmerError, match="OAuth credentials are malformed"):
            backend.save_mcp_sign_in("notes", bad)
    assert backend.read_mcp_sign_in("notes") == ""
    assert not backend.get(McpServer, "notes").status.sign_in.signed_in


def test_tokens_are_sealed_at_rest_and_survive_a_key_rotation(tmp_path: Path) -> None:
    backend = LocalBackend.open(tmp_path / "local.db")
    try:
        backend.create(mcp_server("notes", http={"url": "http://127.0.0.1:1/mcp"}))
        backend.save_mcp_sign_in("notes", credentials())
        assert backend.rotate_master_key() == 1
        assert json.loads(backend.read_mcp_sign_in("notes"))["tokens"]["access_token"] == ACCESS
    finally:
        backend.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("local.db*"))
    assert ACCESS.encode() not in raw and REFRESH.encode() not in raw and b"cid-1" not in raw
    with sqlite3.connect(tmp_path / "local.db") as conn:
        [(sealed,)] = conn.execute("SELECT sealed FROM mcp_sign_ins").fetchall()
    assert sealed.startswith("sealed:v1:")
