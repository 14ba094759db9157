"""OAuth sign-ins of MCP servers in the local store: sealed on write, opened for a run.

A sign-in (:class:`~stigmer.mcp.credentials.Credentials` as JSON) is sealed with the
master key, bound to its McpServer's id, and stored beside the server; only its expiry,
scope and whether a refresh token is held are kept in the clear, for ``get mcpservers``.
Runs read it through the run journal (a RUNNING execution, the worker holding its lease)
and write back the tokens they refresh, so every worker uses the one sign-in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.backend.codec import timestamp
from stigmer.backend.local.base import LocalStore
from stigmer.errors import Conflict, NotFound
from stigmer.resources.kinds import kind_info, kind_of_id
from stigmer.resources.names import slugify
from stigmer.secrets.keys import MasterKey, MasterKeys
from stigmer.secrets.sealing import key_id, seal, unseal
from stigmer.store import leases, records
from stigmer.store import sign_ins as store
from stigmer.store.connection import Connection
from stigmer.store.records import Record

if TYPE_CHECKING:
    from stigmer.mcp.credentials import Credentials

SERVERS = kind_info(McpServer)
RUNS = kind_info("AgentExecution")
# The sealing's associated data: the server's id and this name, so a sign-in copied to
# another server (or into an Environment) fails its integrity check.
_SEALED_NAME = "oauth-sign-in"


def _bound_to(server_id: str) -> str:
    return f"mcpserver:{server_id}"


class LocalMcpSignIns(LocalStore):
    """The MCP sign-in part of LocalBackend: save and delete (with the Resources concern),
    read and refresh (with the RunJournal)."""

    def save_mcp_sign_in(self, server: str, credentials: str) -> None:
        """Store a server's sign-in, sealed, replacing any earlier one (an editor's act); the
        runs that waited for it (``oauth.onSignInNeeded: wait``) are queued to continue."""
        from stigmer.mcp.credentials import Credentials  # runs that sign in only, not every command

        creds = Credentials.from_json(credentials)
        with self.db.write() as conn:
            rec = _server(conn, server)
            self._put_txn(conn, rec.id, creds)
            now = timestamp(self.clock())
            for waiting in _waiting_for_sign_in(conn, rec.name):
                self._requeue_txn(conn, RUNS, waiting, now)

    def delete_mcp_sign_in(self, server: str) -> bool:
        """Forget a server's sign-in; whether there was one."""
        with self.db.write() as conn:
            return store.delete_txn(conn, _server(conn, server).id)

    def read_mcp_sign_in(self, server: str, *, execution_id: str = "", worker_id: str = "") -> str:
        """A server's credentials in plaintext JSON ("" when nobody signed in).

        With ``execution_id`` the execution must be RUNNING (and held by ``worker_id`` when
        given): the read of a run, as for its execution context.
        """
        with self.db.read() as conn:
            if execution_id:
                _check_running(conn, execution_id, worker_id)
            rec = _server(conn, server)
            row = store.get(conn, rec.id)
        if row is None:
            return ""
        label = f"the OAuth sign-in of MCP server {rec.name!r}"
        return unseal(
            row.sealed, self.keys.find, environment_id=_bound_to(rec.id), name=_SEALED_NAME, label=label
        )

    def refresh_mcp_sign_in(
        self, server: str, credentials: str, *, execution_id: str = "", worker_id: str = ""
    ) -> None:
        """Store tokens a run renewed (or, for client credentials, obtained) on its own."""
        from stigmer.mcp.credentials import Credentials  # runs that sign in only, not every command

        creds = Credentials.from_json(credentials)
        with self.db.write() as conn:
            if execution_id:
                _check_running(conn, execution_id, worker_id)
            self._put_txn(conn, _server(conn, server).id, creds)

    def _put_txn(self, conn: Connection, server_id: str, creds: Credentials) -> None:
        key, _ = self.keys.ensure()
        sealed = seal(key, creds.to_json(), environment_id=_bound_to(server_id), name=_SEALED_NAME)
        expires = (
            timestamp(datetime.fromtimestamp(creds.expires_at, UTC)) if creds.expires_at is not None else ""
        )
        now = timestamp(self.clock())
        store.put_txn(
            conn, store.SignInRow(server_id, sealed, expires, creds.refreshable, creds.scope, now, self.actor)
        )


def reseal_sign_ins_txn(conn: Connection, keys: MasterKeys, new: MasterKey) -> int:
    """Re-seal every stored sign-in with ``new`` (a master key rotation); how many."""
    count = 0
    for row in store.all_rows(conn):
        if key_id(row.sealed) == new.kid:
            continue
        bound = _bound_to(row.server_id)
        plaintext = unseal(row.sealed, keys.find, environment_id=bound, name=_SEALED_NAME)
        resealed = seal(new, plaintext, environment_id=bound, name=_SEALED_NAME)
        store.put_txn(conn, store.SignInRow(**{**row.__dict__, "sealed": resealed}))
        count += 1
    return count


def _waiting_for_sign_in(conn: Connection, server: str) -> list[Record]:
    """Agent runs parked until a person signs in to ``server`` (few: found by their phase)."""
    found: list[Record] = []
    req = records.PageRequest(order="newest", limit=500, where={"phase": "WAITING_APPROVAL"})
    while True:
        page = records.list_page(conn, RUNS.table, req)
        for run in page:
            pending = run.status.get("pendingInput") or {}
            if pending.get("kind") == "sign-in" and pending.get("server") == server:
                found.append(run)
        if len(page) < req.limit:
            return found
        req.after = records.cursor_of(page[-1], "newest")


def _server(conn: Connection, ref: str) -> Record:
    rec = records.get(conn, SERVERS.table, id=ref) if kind_of_id(ref) is SERVERS else None
    rec = rec or records.get(conn, SERVERS.table, slug=slugify(ref))
    if rec is None:
        raise NotFound(f"McpServer {ref!r} not found", hint="list what exists with `stigmer get mcpservers`")
    return rec


def _check_running(conn: Connection, execution_id: str, worker_id: str) -> None:
    info = kind_of_id(execution_id)
    if info is None or not info.execution:
        raise NotFound(f"execution {execution_id!r} not found")
    found = leases.phase_and_owner(conn, info.table, execution_id)
    if found is None:
        raise NotFound(f"execution {execution_id!r} not found")
    phase, owner = found
    if phase != "RUNNING":
        raise Conflict(
            f"execution {execution_id} is {phase or 'PENDING'}; MCP sign-ins are only read while it runs"
        )
    if worker_id and owner != worker_id:
        raise Conflict(
            f"worker {worker_id} no longer holds the lease of execution {execution_id}",
            hint="another worker took it over after this one stalled; this worker stops",
        )


__all__ = ["LocalMcpSignIns", "reseal_sign_ins_txn"]
