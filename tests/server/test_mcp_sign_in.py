"""MCP sign-in against a server: one `stigmer mcpserver login` on a client's machine, the
tokens in the server's store, the server's worker using them."""

from __future__ import annotations

import json
from pathlib import Path

from stigmer.backend.local import LocalBackend
from tests.cli.helpers import table
from tests.cli.test_mcp_sign_in import apply, login
from tests.fixtures.mcp_servers.oauth import oauth_notes
from tests.server.conftest import logged_in
from tests.server.harness import ServerProcess


def test_a_login_from_a_client_serves_the_servers_worker(
    served: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, key = served
    client = logged_in(tmp_path, server, key)
    with oauth_notes(tmp_path / "tokens.jsonl") as notes:
        apply(client, notes)
        login(client)
        assert table(client("get", "mcpservers").out)[0]["SIGNED IN"].startswith("yes, expires ")
        run = client("agent", "execute", "reader", "read it")
        assert "note 'shopping' of alice: buy milk" in run.err and "COMPLETED" in run.err
        assert "called with ****" in run.err
        assert notes.grants() == ["authorization_code"]

    # The tokens are in the server's store, sealed: not in its database files, not on the client.
    backend = LocalBackend.open(server.home.home / "local.db")
    try:
        stored = json.loads(backend.read_mcp_sign_in("notes"))
    finally:
        backend.close()
    token = stored["tokens"]["access_token"].encode()
    assert all(token not in p.read_bytes() for p in server.home.home.glob("local.db*"))
    assert all(token not in p.read_bytes() for p in client.home.rglob("*") if p.is_file())
    assert client("mcpserver", "logout", "notes").err.strip() == "Signed out of MCP server 'notes'."
