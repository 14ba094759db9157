"""The OAuth sign-ins of a run's MCP servers: settings from the McpServer, credentials from
the run journal.

Every HTTP server that is an McpServer resource (and sends no ``Authorization`` header of its
own) may ask for OAuth. Its credentials are the ones `stigmer mcpserver login` stored; a run
reads them through the Backend (as the worker holding its lease) and writes back the tokens
it refreshes, so any worker, on any machine, uses the one sign-in.
"""

from __future__ import annotations

from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.backend.protocol import RunJournal
from stigmer.mcp.credentials import Credentials, IdentityAssertion, MemorySignIn, OAuthSettings
from stigmer.mcp.types import ServerSpec
from stigmer.runners.agent.environment import RunEnvironment


def oauth_settings(server: McpServer) -> OAuthSettings | None:
    """The OAuth settings of an HTTP McpServer (None when it sends its own Authorization)."""
    if any(name.lower() == "authorization" for name in server.spec.http.headers):
        return None
    o = server.spec.oauth
    ia = o.identity_assertion
    assertion = (
        IdentityAssertion(ia.token_endpoint, ia.id_token, ia.client_id, ia.client_secret)
        if o.HasField("identity_assertion")
        else None
    )
    return OAuthSettings(
        server=server.metadata.name,
        store=MemorySignIn(),
        client_id=o.client_id,
        client_secret=o.client_secret,
        scopes=list(o.scopes),
        grant=o.grant or "authorization_code",
        client_metadata_url=o.client_metadata_url,
        token_endpoint_auth_method=o.token_endpoint_auth_method,
        issuer=o.issuer,
        private_key=o.private_key,
        signing_algorithm=o.signing_algorithm,
        wait_for_sign_in=o.on_sign_in_needed == "wait",
        identity_assertion=assertion,
    )


class BackendSignIn:
    """One server's credentials in the store, read and written as one run (see the module)."""

    def __init__(
        self, backend: RunJournal, server: str, *, execution_id: str = "", worker_id: str = ""
    ) -> None:
        self.backend = backend
        self.server = server
        self.execution_id = execution_id
        self.worker_id = worker_id

    def load(self) -> Credentials | None:
        text = self.backend.read_mcp_sign_in(
            self.server, execution_id=self.execution_id, worker_id=self.worker_id
        )
        return Credentials.from_json(text) if text else None

    def save(self, credentials: Credentials) -> None:
        self.backend.refresh_mcp_sign_in(
            self.server, credentials.to_json(), execution_id=self.execution_id, worker_id=self.worker_id
        )


def attach_sign_ins(
    specs: list[ServerSpec], env: RunEnvironment, backend: RunJournal, execution_id: str, worker_id: str
) -> None:
    """Give each server that may ask for OAuth its stored sign-in, and its client secret,
    private key or ID token (``${secrets.X}``) from the run's environment."""
    for spec in specs:
        oauth = spec.oauth
        if oauth is None:
            continue
        oauth.store = BackendSignIn(backend, oauth.server, execution_id=execution_id, worker_id=worker_id)
        where = f"mcpServers.{spec.name}.oauth"
        oauth.client_secret = env.resolve(oauth.client_secret, where=where)
        oauth.private_key = env.resolve(oauth.private_key, where=where)
        if oauth.identity_assertion is not None:
            ia = oauth.identity_assertion
            ia.id_token = env.resolve(ia.id_token, where=f"{where}.identityAssertion")
            ia.client_secret = env.resolve(ia.client_secret, where=f"{where}.identityAssertion")
        # Tokens are masked like secrets in what the run records and shows.
        oauth.on_token = lambda token: env.redactor.add([token])


__all__ = ["BackendSignIn", "attach_sign_ins", "oauth_settings"]
