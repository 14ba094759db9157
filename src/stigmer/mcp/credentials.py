"""OAuth credentials of one MCP server, as Stigmer stores them: the tokens, the client they
were issued to, and when the access token expires.

No SDK import here: the store, the backends and the CLI handle credentials as JSON text, and
only a run that opens an HTTP server loads the ``mcp`` SDK's OAuth client.
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from stigmer.errors import StigmerError

# Set where a person is at the terminal (`stigmer agent execute` in the foreground): a run's
# server that asks for a (new) sign-in, or for more scope, gets it there rather than failing.
# The value makes a sign-in context for a server's name (a ``LoopbackSignIn``).
INTERACTIVE: contextvars.ContextVar[Callable[[str], Any] | None] = contextvars.ContextVar(
    "stigmer_mcp_interactive_sign_in", default=None
)


@dataclass
class Credentials:
    """What a sign-in leaves: OAuth tokens and the client registration they belong to.

    ``tokens`` and ``client`` are the SDK's ``OAuthToken`` and ``OAuthClientInformationFull``
    as JSON objects; ``expires_at`` is the access token's expiry in epoch seconds (None: the
    server gave no lifetime).
    """

    tokens: dict[str, Any] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)
    expires_at: float | None = None

    @property
    def scope(self) -> str:
        """The scope granted with the tokens ("" when none was named)."""
        return str(self.tokens.get("scope") or "")

    @property
    def refreshable(self) -> bool:
        """Whether a refresh token is held."""
        return bool(self.tokens.get("refresh_token"))

    def expired(self, now: float | None = None) -> bool:
        """Whether the access token has expired (never, without a known lifetime)."""
        return self.expires_at is not None and (now or time.time()) >= self.expires_at

    def to_json(self) -> str:
        """The JSON text the Backend stores (sealed) and sends."""
        return json.dumps({"tokens": self.tokens, "client": self.client, "expiresAt": self.expires_at})

    @classmethod
    def from_json(cls, text: str) -> Credentials:
        """Credentials from :meth:`to_json` text.

        Raises:
            InvalidCredentials: The text is not such an object.
        """
        try:
            data = json.loads(text)
            tokens, client, expires_at = data["tokens"], data.get("client") or {}, data.get("expiresAt")
            if not isinstance(tokens, dict) or not isinstance(client, dict):
                raise TypeError("tokens and client must be objects")
            if not tokens.get("access_token"):
                raise ValueError("no access_token")
            return cls(tokens, client, float(expires_at) if expires_at is not None else None)
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidCredentials(f"OAuth credentials are malformed: {exc}") from None


class SignInStore(Protocol):
    """Where one server's credentials are kept between runs (blocking calls; the OAuth client
    runs them in a thread)."""

    def load(self) -> Credentials | None:
        """The stored credentials, or None when nobody has signed in."""
        ...

    def save(self, credentials: Credentials) -> None:
        """Keep credentials obtained or refreshed just now."""
        ...


class MemorySignIn:
    """Credentials held in memory only (a sign-in before it is stored, tests)."""

    def __init__(self, credentials: Credentials | None = None) -> None:
        self.credentials = credentials

    def load(self) -> Credentials | None:
        return self.credentials

    def save(self, credentials: Credentials) -> None:
        self.credentials = credentials


@dataclass
class IdentityAssertion:
    """Where a run gets an identity assertion grant (``spec.oauth.identityAssertion``, references
    resolved): the enterprise IdP's token endpoint, the person's ID token, the client there."""

    token_endpoint: str
    id_token: str = field(repr=False)
    client_id: str
    client_secret: str = field(default="", repr=False)


@dataclass
class OAuthSettings:
    """How Stigmer signs in to one HTTP MCP server (``spec.oauth`` of the McpServer, references
    already resolved), and where the credentials live."""

    server: str
    store: SignInStore
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    scopes: list[str] = field(default_factory=list)
    grant: str = "authorization_code"
    client_metadata_url: str = ""
    token_endpoint_auth_method: str = ""
    issuer: str = ""
    private_key: str = field(default="", repr=False)
    signing_algorithm: str = ""
    # Told every token obtained or refreshed (a run masks them in what it records).
    on_token: Callable[[str], None] | None = field(default=None, repr=False)
    # Whether a run that needs a person to sign in waits for `mcpserver login` (else fails).
    wait_for_sign_in: bool = False
    # Enterprise-managed authorization (SEP-990): tokens from an identity assertion grant.
    identity_assertion: IdentityAssertion | None = None


class InvalidCredentials(StigmerError):
    """Credentials that are not the JSON object a sign-in stores."""

    grpc_code = "INVALID_ARGUMENT"


class SignInRequired(StigmerError):
    """An MCP server wants a person to sign in (no tokens, or they cannot be refreshed)."""

    grpc_code = "FAILED_PRECONDITION"

    def __init__(self, server: str, why: str) -> None:
        super().__init__(
            f"MCP server {server!r} needs a sign-in: {why}",
            hint=f"sign in once with `stigmer mcpserver login {server}`, then run again",
        )
        self.server = server


__all__ = [
    "INTERACTIVE",
    "Credentials",
    "IdentityAssertion",
    "InvalidCredentials",
    "MemorySignIn",
    "OAuthSettings",
    "SignInRequired",
    "SignInStore",
]
