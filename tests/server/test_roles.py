"""Roles of API keys, against a real `stigmer server` on 127.0.0.1: every RPC × every role."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend.keys import create_key as store_key
from stigmer.backend.keys import list_keys
from stigmer.backend.roles import RPC_ROLES
from stigmer.backend.wire import ERROR_TYPE, pack
from stigmer.store.database import Database
from stigmer.store.migrations import migrate
from tests.builders import skill
from tests.cli.helpers import Stigmer, workdir
from tests.server.conftest import server_home
from tests.server.harness import ServerProcess, raw_call

ROLE_NAMES = ("viewer", "runner", "editor", "admin", "worker")
SERVICE = pb.DESCRIPTOR.services_by_name["BackendService"]

# What the issue promises, written out here rather than read from the code's table.
READS = {
    "GetResource",
    "ListResources",
    "GetHistory",
    "GetExecution",
    "ListExecutions",
    "ListSteps",
    "WatchExecution",
    "GetArtifact",
    "GetBackendInfo",
    "CountQueued",  # the queue's depth, for a worker's metrics
}
RUNS = {"CreateExecution", "CancelExecution", "ResolveApproval", "Respond"}
EDITS = {
    "CreateResource",
    "UpdateResource",
    "ApplyResources",
    "DeleteResource",
    "Rollback",
    "ImportResources",
    "StoreArtifact",
    "SaveMcpSignIn",
    "DeleteMcpSignIn",
}
JOURNAL = {
    "GetExecutionContext",
    "RecordStep",
    "ClaimExecution",
    "RenewLease",
    "ReleaseExecution",
    "UpdateExecutionStatus",
    "ReadMcpSignIn",
    "RefreshMcpSignIn",
}
ALLOWED: dict[str, set[str]] = {
    "viewer": READS,
    "runner": READS | RUNS,
    "editor": READS | RUNS | EDITS,
    "admin": {m.name for m in SERVICE.methods},
    # a worker runs what it claims: it reads, starts child runs and stores artifacts
    "worker": READS | JOURNAL | {"CreateExecution", "StoreArtifact"},
}

# A request per method that, when allowed, does no harm (names nothing that exists).
REQUESTS: dict[str, bytes] = {
    "CreateResource": pb.CreateResourceRequest(resource=pack(skill("made-by-matrix"))).SerializeToString(),
    "UpdateResource": pb.UpdateResourceRequest(resource=pack(skill("no-such-skill"))).SerializeToString(),
    "DeleteResource": pb.DeleteResourceRequest(kind="Skill", ref="no-such-skill").SerializeToString(),
    "GetResource": pb.GetResourceRequest(kind="Skill", ref="no-such-skill").SerializeToString(),
    "ListResources": pb.ListResourcesRequest(kind="Skill").SerializeToString(),
    "GetHistory": pb.GetHistoryRequest(kind="Skill", ref="no-such-skill").SerializeToString(),
    "Rollback": pb.RollbackRequest(kind="Skill", ref="no-such-skill", to_version=1).SerializeToString(),
    "GetExecution": pb.GetExecutionRequest(id="aex_none").SerializeToString(),
    "CancelExecution": pb.CancelExecutionRequest(id="aex_none").SerializeToString(),
    "WatchExecution": pb.WatchExecutionRequest(execution_id="aex_none").SerializeToString(),
    "RevokeApiKey": pb.RevokeApiKeyRequest(name="no-such-key").SerializeToString(),
    "CreateApiKey": pb.CreateApiKeyRequest(name="Not A Name!").SerializeToString(),
    "PruneExecutions": pb.PruneExecutionsRequest(older_than_seconds=10**9, dry_run=True).SerializeToString(),
}


def test_every_backend_rpc_has_a_role() -> None:
    assert set(RPC_ROLES) == {m.name for m in SERVICE.methods}


@pytest.fixture(scope="module")
def role_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    home = server_home(tmp_path_factory.mktemp("roles"))
    tokens = {
        role: home("server", "keys", "create", f"{role}-key", "--role", role).out.strip()
        for role in ROLE_NAMES
    }
    server = ServerProcess(home).start()
    try:
        yield server, tokens
    finally:
        server.stop()


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_rpc_for_every_role(role_server: tuple[ServerProcess, dict[str, str]], role: str) -> None:
    server, tokens = role_server
    for method in SERVICE.methods:
        code, details, trailers = raw_call(
            server,
            method.name,
            REQUESTS.get(method.name, b""),
            token=tokens[role],
            stream=method.server_streaming,
        )
        if method.name in ALLOWED[role]:
            assert code != grpc.StatusCode.PERMISSION_DENIED, (role, method.name, details)
            assert code != grpc.StatusCode.UNAUTHENTICATED, (role, method.name, details)
        else:
            assert code == grpc.StatusCode.PERMISSION_DENIED, (role, method.name, code, details)
            assert (ERROR_TYPE, "PermissionDenied") in list(trailers)
            assert f"has the role {role}" in details
            needed = "runner" if method.name in RUNS else "editor" if method.name in EDITS else "admin"
            assert f"needs the role {needed}" in details, details


def _client(root: Path, server: ServerProcess, token: str) -> Stigmer:
    client = Stigmer(root / "client-home", workdir(root / "client-work"))
    client("login", server.url, "--token", token)
    return client


def test_a_viewer_reads_but_cannot_run_change_reveal_or_claim(
    role_server: tuple[ServerProcess, dict[str, str]], tmp_path: Path
) -> None:
    server, tokens = role_server
    editor = _client(tmp_path / "editor", server, tokens["editor"])
    editor("apply", "-f", "examples/agents/support-bot-scripted.yaml")
    editor("env", "create", "prod", "--secret", "TOKEN=s3cr3t-value")
    viewer = _client(tmp_path / "viewer", server, tokens["viewer"])
    assert "support-bot-scripted" in viewer("get", "agent").out
    for args in (
        ("agent", "execute", "support-bot-scripted", "hi"),
        ("delete", "agent", "support-bot-scripted"),
        ("env", "reveal", "prod", "TOKEN"),
        ("server", "keys", "list"),
    ):
        result = viewer(*args, check=False)
        assert result.code == 1, result
        assert "has the role viewer" in result.err, args
        assert "Traceback" not in result.err
    # an editor changes definitions, but cannot read a secret's value
    refused = editor("env", "reveal", "prod", "TOKEN", check=False)
    assert refused.code == 1
    assert "needs the role admin" in refused.err
    assert "s3cr3t-value" not in refused.out + refused.err


def test_an_admin_manages_keys_through_the_server(
    role_server: tuple[ServerProcess, dict[str, str]], tmp_path: Path
) -> None:
    server, tokens = role_server
    admin = _client(tmp_path, server, tokens["admin"])
    token = admin("server", "keys", "create", "made-remotely", "--role", "runner").out.strip()
    assert token.startswith("sk_")
    listed = admin("server", "keys", "list").out
    assert "made-remotely" in listed and "runner" in listed
    # the client's own home has no keys: they were made on the server
    assert not (admin.home / "local.db").exists() or "made-remotely" not in _local_key_names(admin.home)
    runner = _client(tmp_path / "r", server, token)
    applied = runner("apply", "-f", "examples/agents/support-bot-scripted.yaml", check=False)
    assert applied.code == 1 and "has the role runner" in applied.err
    admin("server", "keys", "revoke", "made-remotely")
    assert "refused" in runner("get", "agent", check=False).err


def _local_key_names(home: Path) -> str:
    conn = sqlite3.connect(home / "local.db")
    try:
        return " ".join(r[0] for r in conn.execute("SELECT name FROM api_keys"))
    finally:
        conn.close()


def test_keys_made_before_roles_become_admin_and_say_so(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, str(path), target=6)
    conn.execute(
        "INSERT INTO api_keys (id, name, salt, hash, created_at)"
        " VALUES ('abc', 'old-key', x'00', x'00', 'now')"
    )
    conn.close()
    db = Database.open(path)
    try:
        (old,) = list_keys(db.conn)
        assert (old.role, old.role_from_upgrade) == ("admin", True)
        new, _ = store_key(db, "new-key", role="viewer")
        assert (new.role, new.role_from_upgrade) == ("viewer", False)
    finally:
        db.close()
    home = Stigmer(tmp_path / "home", workdir(tmp_path / "work"))
    listed = home("server", "keys", "list", "--database", str(path))
    assert "admin (from upgrade)" in listed.out
    assert "became admin" in listed.err


def test_an_unknown_role_is_refused(tmp_path: Path) -> None:
    home = Stigmer(tmp_path / "home", workdir(tmp_path / "work"))
    result = home("server", "keys", "create", "k", "--role", "root", check=False)
    assert result.code == 2
    assert "root" in result.err and "viewer" in result.err
