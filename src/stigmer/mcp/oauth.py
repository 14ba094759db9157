"""OAuth for HTTP MCP servers, on the ``mcp`` SDK's own client (:mod:`mcp.client.auth`).

The SDK does the protocol: protected resource metadata discovery (``WWW-Authenticate``, then
the well-known paths), authorization server metadata with the older fallbacks, dynamic client
registration, client ID metadata documents, PKCE, scope selection and step-up, token endpoint
auth methods, refresh, and the client-credentials grant. Stigmer adds what it needs around
it (each marked "extends the SDK" below):

- the SDK's ``TokenStorage`` over a :class:`~stigmer.mcp.credentials.SignInStore` (the Backend,
  sealed at rest), with the absolute expiry kept: the SDK keeps ``expires_in`` only, so a
  token loaded later counted as never expiring and was never refreshed;
- a pre-registered client (``spec.oauth.clientId``/``clientSecret``) loaded as the client
  registration, and configured scopes requested beside those the server names;
- on the legacy 2025-03-26 discovery path (no protected resource metadata), an authorization
  server whose issuer has a path on the MCP server's own origin (:class:`_LegacyIssuerOnOrigin`);
- enterprise-managed authorization (SEP-990): the SDK presents an identity assertion grant
  (ID-JAG) to the authorization server; :class:`_IdentityAssertion` gets it from the
  enterprise identity provider, exchanging the person's ID token for it (RFC 8693);
- a person's part: :class:`LoopbackSignIn` prints the authorization URL (opening a browser
  only where there is one) and waits for the redirect on 127.0.0.1; where no person is
  present (a worker), the flow stops with :class:`~stigmer.mcp.credentials.SignInRequired`,
  naming ``stigmer mcpserver login``.

Importing this module imports the SDK; only :mod:`stigmer.mcp.connection` imports it.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import sys
import threading
import time
import warnings
import webbrowser
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol, TextIO
from urllib.parse import parse_qs, quote, urlparse, urlsplit

import anyio
import httpx2
from mcp.client.auth import OAuthClientProvider, OAuthFlowError, TokenStorage
from mcp.client.auth.extensions.client_credentials import (
    ClientCredentialsOAuthProvider,
    PrivateKeyJWTOAuthProvider,
    SignedJWTParameters,
)
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.client.auth.utils import (
    build_oauth_authorization_server_metadata_discovery_urls,
    create_oauth_metadata_request,
    handle_auth_metadata_response,
    handle_protected_resource_response,
    union_scopes,
)
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl

from stigmer.errors import StigmerError
from stigmer.mcp.credentials import (
    Credentials,
    IdentityAssertion,
    OAuthSettings,
    SignInRequired,
    SignInStore,
)
from stigmer.mcp.groups import root_cause

# The SDK logs a failed flow with its traceback; Stigmer reports it as an error of its own.
logging.getLogger("mcp.client.auth").addHandler(logging.NullHandler())
logging.getLogger("mcp.client.auth").propagate = False

# How long a person has to finish signing in before the wait gives up.
DEFAULT_SIGN_IN_TIMEOUT_S = 300.0
# A redirect URI for clients that never redirect (a run with no person): the SDK's client
# metadata needs one, and nothing ever listens there.
_NO_REDIRECT = "http://127.0.0.1/callback"


class Interaction(Protocol):
    """A person's part in an authorization-code sign-in: see the URL, come back with a code."""

    @property
    def redirect_uri(self) -> str:
        """Where the authorization server sends the person back to."""
        ...

    async def open(self, url: str) -> None:
        """Show (and where possible open) the authorization URL."""
        ...

    async def wait(self) -> AuthorizationCodeResult:
        """The code and state the redirect brought back."""
        ...


class SignInFailed(StigmerError):
    """The authorization server (or the person) refused the sign-in, or it timed out."""

    grpc_code = "FAILED_PRECONDITION"


class LoopbackSignIn(AbstractContextManager["LoopbackSignIn"]):
    """Print the authorization URL, open a browser where one is, wait on a loopback redirect.

    The redirect listener runs on 127.0.0.1 on a random port (RFC 8252 loopback redirect) in
    a thread of its own, from ``__enter__`` until ``__exit__``.

    Args:
        server: The McpServer's name, for the messages.
        out: Where the instructions go.
        url_out: Where the URL goes (``out`` by default): alone on its line, for scripts.
        timeout_s: How long :meth:`wait` waits for the redirect.
    """

    def __init__(
        self,
        server: str,
        *,
        out: TextIO | None = None,
        url_out: TextIO | None = None,
        timeout_s: float = DEFAULT_SIGN_IN_TIMEOUT_S,
    ) -> None:
        self.server = server
        self.out = out or sys.stderr
        self.url_out = url_out or self.out
        self.timeout_s = timeout_s
        self._params: dict[str, str] | None = None
        self._arrived = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> LoopbackSignIn:
        sign_in = self

        class Callback(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path != "/callback":
                    self.send_error(404)
                    return
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                ok = "code" in params
                body = (
                    f"Signed in to {html.escape(sign_in.server)}. You can close this tab."
                    if ok
                    else f"Sign-in to {html.escape(sign_in.server)} failed: "
                    f"{html.escape(params.get('error_description') or params.get('error') or 'no code')}"
                )
                page = f"<!doctype html><title>Stigmer</title><p>{body}</p>".encode()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                if sign_in._params is None:
                    sign_in._params = params
                    sign_in._arrived.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the query holds the code: never log it

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Callback)
        threading.Thread(target=self._httpd.serve_forever, name="stigmer-oauth-callback", daemon=True).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def redirect_uri(self) -> str:
        if self._httpd is None:
            raise RuntimeError("LoopbackSignIn is not started: use it as a context manager")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/callback"

    async def open(self, url: str) -> None:
        self._params = None
        self._arrived.clear()
        print(f"Sign in to MCP server {self.server!r}: open this URL in a browser", file=self.out, flush=True)
        print(url, file=self.url_out, flush=True)
        print(f"Waiting for the redirect to {self.redirect_uri} …", file=self.out, flush=True)
        if browser_available():
            # A console browser would take over the terminal: only graphical ones, or $BROWSER.
            await anyio.to_thread.run_sync(webbrowser.open, url)

    async def wait(self) -> AuthorizationCodeResult:
        arrived = await anyio.to_thread.run_sync(self._arrived.wait, self.timeout_s, abandon_on_cancel=True)
        if not arrived or self._params is None:
            raise SignInFailed(
                f"no sign-in to MCP server {self.server!r} arrived within {self.timeout_s:g}s",
                hint=f"run `stigmer mcpserver login {self.server}` again and finish in the browser",
            )
        params = self._params
        if "code" not in params:
            why = params.get("error_description") or params.get("error") or "no authorization code"
            raise SignInFailed(
                f"the authorization server refused the sign-in to MCP server {self.server!r}: {why}",
                hint="check the account and the scopes asked for, then sign in again",
            )
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))


def browser_available() -> bool:
    """Whether a browser can be opened here without taking over the terminal."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class StoredTokens(TokenStorage):
    """The SDK's token storage over a :class:`SignInStore`, keeping the absolute expiry.

    Extends the SDK: its ``OAuthToken`` carries ``expires_in`` only, relative to when the
    token was issued; here a stored token comes back with the seconds it has left.
    """

    def __init__(
        self,
        store: SignInStore,
        credentials: Credentials | None,
        on_token: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.credentials = credentials
        self.on_token = on_token
        if credentials is not None:
            self._told(credentials.tokens)
        self._client: OAuthClientInformationFull | None = None
        if credentials and credentials.client:
            self._client = OAuthClientInformationFull.model_validate(credentials.client)

    async def get_tokens(self) -> OAuthToken | None:
        creds = self.credentials
        if creds is None:
            return None
        token = OAuthToken.model_validate(creds.tokens)
        if creds.expires_at is not None:
            token.expires_in = max(0, int(creds.expires_at - time.time()))
        return token

    async def set_tokens(self, tokens: OAuthToken) -> None:
        expires_at = time.time() + int(tokens.expires_in) if tokens.expires_in is not None else None
        client = self._client.model_dump(mode="json", exclude_none=True) if self._client else {}
        creds = Credentials(tokens.model_dump(mode="json", exclude_none=True), client, expires_at)
        self.credentials = creds
        self._told(creds.tokens)
        await anyio.to_thread.run_sync(self.store.save, creds)

    def _told(self, tokens: dict[str, Any]) -> None:
        if self.on_token is not None:
            for key in ("access_token", "refresh_token"):
                if tokens.get(key):
                    self.on_token(str(tokens[key]))

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self._client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        # Kept with the next tokens: a registration without tokens is worth nothing stored.
        self._client = client_info


def _pre_registered(settings: OAuthSettings, redirect_uri: str) -> OAuthClientInformationFull | None:
    if not settings.client_id:
        return None
    method = settings.token_endpoint_auth_method or (
        "client_secret_basic" if settings.client_secret else "none"
    )
    return OAuthClientInformationFull(
        client_id=settings.client_id,
        client_secret=settings.client_secret or None,
        redirect_uris=[AnyUrl(redirect_uri)],
        token_endpoint_auth_method=method,
        scope=" ".join(settings.scopes) or None,
    )


_DEFAULT_PORTS = {"https": 443, "http": 80}
_PRM_ROOT = "/.well-known/oauth-protected-resource"


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port spelt out: what "the same origin" compares."""
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(parts.scheme)


class _LegacyIssuerOnOrigin(OAuthClientProvider):
    """Extends the SDK: a 2025-03-26 server's authorization server named with a path on its origin.

    A 2025-03-26 server publishes no protected resource metadata; its clients fetch the
    authorization server metadata from the MCP server's own origin
    (``/.well-known/oauth-authorization-server``). The SDK then requires the metadata's issuer to
    be that origin exactly (RFC 8414 section 3.3, SEP-2468), its defence against mix-up attacks
    (metadata that names another server, so that codes, tokens or client secrets go there).
    Servers of that era name an issuer with a path (``http://host:port/oauth``), and the SDK
    refuses them. Here, on that legacy path only, an issuer on the SAME origin as the MCP
    server (scheme, host and port; any path) is accepted: the metadata came from that origin,
    which vouches for its own paths, and every endpoint it names is checked by the SDK as
    before. An issuer on another origin is still refused (:class:`SignInFailed`); and where the
    server publishes protected resource metadata, the SDK's exact check stands untouched.
    """

    _server: str
    # The same-origin issuer the legacy metadata names (None: the SDK's own rule applies).
    _legacy_issuer: str | None = None

    def _expected_issuer(self) -> str:
        if self.context.auth_server_url is None and self._legacy_issuer is not None:
            return self._legacy_issuer
        return super()._expected_issuer()

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        # The SDK's flow fixes the issuer it expects (``_expected_issuer``) right after its last
        # protected resource metadata request, before it fetches the authorization server
        # metadata: so when that last request finds none (it is always the origin's root
        # well-known), the legacy metadata is read first, here, and the SDK's flow then fetches
        # it again and checks it against the issuer found.
        flow = super()._auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                if await self._no_resource_metadata(outgoing, response):
                    url = build_oauth_authorization_server_metadata_discovery_urls(
                        None, self.context.server_url
                    )[0]
                    self._legacy_issuer = await self._issuer_on_origin(
                        url, (yield create_oauth_metadata_request(url))
                    )
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()

    async def _no_resource_metadata(self, sent: httpx2.Request, response: httpx2.Response) -> bool:
        """Whether ``response`` answers the last protected resource metadata request with none."""
        root = "{}://{}{}".format(*urlsplit(self.context.server_url)[:2], _PRM_ROOT)
        if str(sent.url) != root or response.status_code >= 500 or response.status_code == 429:
            return False  # not that request, or a server error: the SDK's flow stops there
        return await handle_protected_resource_response(response) is None

    async def _issuer_on_origin(self, url: str, response: httpx2.Response) -> str | None:
        """The issuer the legacy metadata at ``url`` names, when it has a path on the server's
        origin; None when there is none, or it is the origin itself (the SDK's own rule).

        Raises:
            SignInFailed: The issuer is on another origin.
        """
        _, metadata = await handle_auth_metadata_response(response)
        if metadata is None:
            return None  # no metadata there: the SDK's fallbacks take over
        issuer = str(metadata.issuer)
        if _origin(issuer) != _origin(self.context.server_url):
            raise SignInFailed(
                f"MCP server {self._server!r}: the authorization server metadata at {url} names the "
                f"issuer {issuer}, which is not on the MCP server's origin; Stigmer refuses it (it "
                "could send the sign-in to another server)",
                hint="the server's operator should publish protected resource metadata "
                "(/.well-known/oauth-protected-resource) naming its authorization server",
            )
        return None if urlsplit(issuer).path in ("", "/") else issuer


class _SignedIn(_LegacyIssuerOnOrigin):
    """Authorization code (with PKCE), refresh and step-up, for one McpServer."""

    def __init__(
        self, url: str, settings: OAuthSettings, storage: StoredTokens, interaction: Interaction | None
    ):
        redirect_uri = interaction.redirect_uri if interaction else _NO_REDIRECT
        metadata = OAuthClientMetadata(
            client_name="Stigmer",
            redirect_uris=[AnyUrl(redirect_uri)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            scope=" ".join(settings.scopes) or None,
            token_endpoint_auth_method=settings.token_endpoint_auth_method or None,  # type: ignore[arg-type]
        )
        self._settings = settings
        self._server = settings.server
        self._storage = storage
        self._interaction = interaction
        self._had_tokens = storage.credentials is not None
        super().__init__(
            url,
            metadata,
            storage,
            redirect_handler=self._redirect,
            callback_handler=self._callback,
            client_metadata_url=settings.client_metadata_url or None,
        )
        pre = _pre_registered(settings, redirect_uri)
        if pre is not None and storage._client is None:
            storage._client = pre

    async def _initialize(self) -> None:
        await super()._initialize()
        _load_expiry(self)

    async def _perform_authorization(self) -> httpx2.Request:
        # Extends the SDK: configured scopes are asked for beside those the server names.
        configured = " ".join(self._settings.scopes) or None
        self.context.client_metadata.scope = union_scopes(self.context.client_metadata.scope, configured)
        return await super()._perform_authorization()

    async def _redirect(self, url: str) -> None:
        if self._interaction is None:
            why = (
                "its token has expired and could not be refreshed, or it asks for more scope"
                if self._had_tokens
                else "nobody has signed in yet"
            )
            raise SignInRequired(self._settings.server, why)
        await self._interaction.open(url)

    async def _callback(self) -> AuthorizationCodeResult:
        assert self._interaction is not None  # _redirect raised otherwise
        return await self._interaction.wait()


class _PrivateKeyJWT(_LegacyIssuerOnOrigin, PrivateKeyJWTOAuthProvider):
    """Machine to machine, the client authenticated by a JWT signed with its private key."""

    def __init__(self, url: str, settings: OAuthSettings, storage: StoredTokens) -> None:
        self._server = settings.server
        signed = SignedJWTParameters(
            issuer=settings.client_id,
            subject=settings.client_id,
            signing_key=settings.private_key,
            signing_algorithm=settings.signing_algorithm or "RS256",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # no issuer: as for _ClientCredentials
            super().__init__(
                url,
                storage,
                settings.client_id,
                signed.create_assertion_provider(),
                scope=" ".join(settings.scopes) or None,
                issuer=settings.issuer or None,
            )

    async def _initialize(self) -> None:
        await super()._initialize()
        _load_expiry(self)


class _ClientCredentials(_LegacyIssuerOnOrigin, ClientCredentialsOAuthProvider):
    """Machine to machine: the run gets (and renews) its own token; no person signs in."""

    def __init__(self, url: str, settings: OAuthSettings, storage: StoredTokens) -> None:
        self._server = settings.server
        method = settings.token_endpoint_auth_method or "client_secret_basic"
        if method not in ("client_secret_basic", "client_secret_post"):
            raise SignInFailed(
                f"MCP server {settings.server!r}: the client-credentials grant needs "
                f"client_secret_basic or client_secret_post, not {method!r}",
                hint="set spec.oauth.tokenEndpointAuthMethod of the McpServer",
            )
        with warnings.catch_warnings():
            # Without an issuer the SDK warns (it will require one); Stigmer leaves it optional.
            warnings.simplefilter("ignore")
            super().__init__(
                url,
                storage,
                settings.client_id,
                settings.client_secret,
                token_endpoint_auth_method=method,  # type: ignore[arg-type]
                scope=" ".join(settings.scopes) or None,
                issuer=settings.issuer or None,
            )

    async def _initialize(self) -> None:
        await super()._initialize()
        _load_expiry(self)


TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"


class _IdentityAssertion(IdentityAssertionOAuthProvider):
    """Enterprise-managed authorization (SEP-990): no person at the run, no browser.

    The SDK does the second leg (the ID-JAG as a jwt-bearer assertion, RFC 7523, at the
    configured issuer only). Extends the SDK with the first leg, which it leaves to the
    deployment: exchange the person's ID token at the IdP's token endpoint for an ID-JAG whose
    audience is that issuer and whose resource is the MCP server (RFC 8693).
    """

    def __init__(self, url: str, settings: OAuthSettings, storage: StoredTokens) -> None:
        assert settings.identity_assertion is not None
        self._settings = settings
        self._assertion = settings.identity_assertion
        super().__init__(
            url,
            storage,
            settings.client_id,
            settings.client_secret,
            settings.issuer,
            self._id_jag,
            scope=" ".join(settings.scopes) or None,
            token_endpoint_auth_method=settings.token_endpoint_auth_method or "client_secret_basic",  # type: ignore[arg-type]
        )

    async def _id_jag(self, audience: str, resource: str) -> str:
        idp: IdentityAssertion = self._assertion
        data = {
            "grant_type": TOKEN_EXCHANGE,
            "requested_token_type": ID_JAG,
            "subject_token": idp.id_token,
            "subject_token_type": ID_TOKEN,
            "audience": audience,
            "resource": resource,
        }
        if self._settings.scopes:
            data["scope"] = " ".join(self._settings.scopes)
        headers = {}
        if idp.client_secret:  # client_secret_basic (RFC 6749 section 2.3.1: each part form-encoded)
            pair = f"{quote(idp.client_id, safe='')}:{quote(idp.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            data["client_id"] = idp.client_id
        async with httpx2.AsyncClient(timeout=30.0) as http:
            response = await http.post(idp.token_endpoint, data=data, headers=headers)
        server = self._settings.server
        try:
            body = response.json()
        except ValueError:
            body = {}
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code != 200 or not token or body.get("issued_token_type", ID_JAG) != ID_JAG:
            why = (body.get("error_description") or body.get("error")) if isinstance(body, dict) else None
            raise SignInFailed(
                f"MCP server {server!r}: the identity provider at {idp.token_endpoint} did not exchange "
                f"the ID token for an identity assertion grant (HTTP {response.status_code}"
                f"{': ' + str(why) if why else ''})",
                hint="put a fresh ID token in the secret spec.oauth.identityAssertion.idToken names, "
                "and check identityAssertion.clientId and clientSecret",
            )
        if self._settings.on_token is not None:
            self._settings.on_token(str(token))  # masked in what the run records, like the tokens
        return str(token)


def _load_expiry(provider: OAuthClientProvider) -> None:
    # Extends the SDK: it loads stored tokens without their expiry (so never refreshes them).
    tokens = provider.context.current_tokens
    if tokens is not None and tokens.expires_in is not None:
        provider.context.update_token_expiry(tokens)


def oauth_auth(url: str, settings: OAuthSettings, interaction: Interaction | None = None) -> httpx2.Auth:
    """The ``httpx2.Auth`` that signs requests to one MCP server, sign-in and refresh included.

    Args:
        url: The server's MCP endpoint.
        settings: Its ``spec.oauth`` and where its credentials are kept.
        interaction: A person who can sign in now; None in a worker, where a needed sign-in
            fails the connection with :class:`SignInRequired`.
    """
    storage = StoredTokens(settings.store, settings.store.load(), settings.on_token)
    if settings.identity_assertion is not None:
        return _IdentityAssertion(url, settings, storage)
    if settings.grant == "client_credentials" and settings.token_endpoint_auth_method == "private_key_jwt":
        return _PrivateKeyJWT(url, settings, storage)
    if settings.grant == "client_credentials":
        return _ClientCredentials(url, settings, storage)
    return _SignedIn(url, settings, storage, interaction)


async def sign_in(url: str, settings: OAuthSettings, interaction: Interaction) -> Credentials:
    """Sign in to one MCP server from scratch (``stigmer mcpserver login``): connect, let the
    server ask for OAuth, and return the credentials (also given to ``settings.store``).

    Raises:
        SignInFailed: The server did not ask for a sign-in, or the sign-in failed.
    """
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    auth = oauth_auth(url, settings, interaction)
    try:
        async with (
            httpx2.AsyncClient(auth=auth, timeout=httpx2.Timeout(30.0, read=300.0)) as http,
            Client(streamable_http_client(url, http_client=http), cache=None) as client,
        ):
            await client.list_tools()
    except Exception as exc:  # the SDK's task groups wrap what the OAuth flow raised
        cause = root_cause(exc)
        if isinstance(cause, StigmerError):
            raise cause from None
        if isinstance(cause, OAuthFlowError):
            raise SignInFailed(
                f"signing in to MCP server {settings.server!r} at {url} failed: {cause}",
                hint="check the McpServer's spec.oauth against the server's OAuth set-up",
            ) from None
        raise
    creds = settings.store.load()
    if creds is None:
        raise SignInFailed(
            f"MCP server {settings.server!r} at {url} did not ask for a sign-in",
            hint="it accepts requests without OAuth; nothing was stored",
        )
    return creds


__all__ = [
    "DEFAULT_SIGN_IN_TIMEOUT_S",
    "Interaction",
    "LoopbackSignIn",
    "SignInFailed",
    "StoredTokens",
    "browser_available",
    "oauth_auth",
    "sign_in",
]
