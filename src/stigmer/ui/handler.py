"""The dashboard's HTTP: bundled pages and scripts, the JSON API, live events, sign-in.

Static files come from the installed package (``stigmer/ui/static``), never from a CDN.
Every API request is checked by the :class:`~stigmer.ui.auth.Gate`; a POST must be JSON
(which a form on another site cannot send without the browser asking this server first)
and, when the browser names its origin, come from this dashboard's own pages.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import ssl
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from stigmer.backend import roles
from stigmer.backend.roles import Caller
from stigmer.errors import InvalidArgument, StigmerError, Unauthenticated
from stigmer.ui import api, auth
from stigmer.ui import mcp_tools as _mcp_tools  # noqa: F401  (registers its routes on import)
from stigmer.ui.events import frame, stream

if TYPE_CHECKING:
    from stigmer.ui.dashboard import Dashboard

log = logging.getLogger("stigmer.ui")

MAX_BODY_BYTES = 1024 * 1024
# A refused body is drained (read, never kept) up to this much, for this long, so its sender
# reads the refusal instead of a reset connection.
DISCARD_LIMIT = 16 * 1024 * 1024
DISCARD_SECONDS = 2.0
EVENTS = re.compile(r"^/api/executions/(?P<id>[^/]+)/events$")
STATIC = re.compile(r"^/static/(?P<name>[a-z0-9][a-z0-9_.-]*)$")
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_DISCONNECTED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, ssl.SSLError)


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


@dataclass
class Assets:
    """The bundled files, read from the package once."""

    cache: dict[str, Asset] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, name: str) -> Asset | None:
        with self.lock:
            if name not in self.cache:
                suffix = name[name.rfind(".") :] if "." in name else ""
                path = resources.files("stigmer.ui").joinpath("static", name)
                if suffix not in TYPES or not path.is_file():
                    return None
                body = path.read_bytes()
                etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
                self.cache[name] = Asset(body, TYPES[suffix], etag)
            return self.cache[name]


ASSETS = Assets()


class Handler(BaseHTTPRequestHandler):
    """One connection to the dashboard (HTTP/1.1, kept alive between requests)."""

    protocol_version = "HTTP/1.1"
    server_version = "stigmer-ui"
    timeout = 120  # an idle kept-alive connection is closed after this many seconds

    @property
    def dashboard(self) -> Dashboard:
        found: Dashboard = self.server.dashboard  # type: ignore[attr-defined]
        return found

    def setup(self) -> None:
        super().setup()
        handshake = getattr(self.connection, "do_handshake", None)
        if handshake is not None:  # TLS: shake hands on this thread, not the accepting one
            handshake()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- responses ----------------------------------------------------------------------

    def _headers(
        self, status: int, content_type: str, length: int, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self._headers(status, content_type, len(body), extra)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        self._send(
            status, body, "application/json; charset=utf-8", {"Cache-Control": "no-store", **(extra or {})}
        )

    def _error(self, error: StigmerError, status: int | None = None) -> None:
        self._json(status or api.http_status(error), api.error_body(error))

    # -- routing -------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        try:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            if url.path.startswith("/hooks/"):
                # Before the host check and API keys: a webhook's sender proves itself by its signature.
                self._hook(method, url.path.removeprefix("/hooks/"))
                return
            if not self.dashboard.gate.host_allowed(self.headers.get("Host", "")):
                # Not this dashboard's address: a page elsewhere reaching 127.0.0.1 by another name.
                self._json(HTTPStatus.MISDIRECTED_REQUEST, {"error": "unknown host", "code": "UNKNOWN_HOST"})
                return
            if url.path.startswith("/api/"):
                self._api(method, url.path, query)
            elif method == "GET":
                self._page(url.path, query)
            else:
                self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"{method} is not allowed here"})
        except _DISCONNECTED:
            self.close_connection = True
        except Exception:
            log.exception("the dashboard failed to answer %s %s", method, self.path)
            self.close_connection = True

    def _hook(self, method: str, name: str) -> None:
        """POST /hooks/NAME: a webhook delivery (see stigmer.triggers.webhooks)."""
        from stigmer.triggers import webhooks

        if method != "POST":
            self._json(
                HTTPStatus.METHOD_NOT_ALLOWED, {"error": "webhooks are POSTed", "code": "METHOD_NOT_ALLOWED"}
            )
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.close_connection = True
            self._json(
                HTTPStatus.LENGTH_REQUIRED, {"error": "send a Content-Length", "code": "LENGTH_REQUIRED"}
            )
            return
        with self.dashboard.pool.borrow(actor=f"webhook:{name}") as backend:
            hook = webhooks.find(backend, name)
            if hook is not None and int(length) > webhooks.body_limit(hook):
                # Refused unread: the connection closes rather than take in the rest.
                self.close_connection = True
                limit = webhooks.body_limit(hook)
                self._json(413, {"error": f"the body is larger than {limit} bytes", "code": "TOO_LARGE"})
                self._discard(int(length))
                return
            raw = self.rfile.read(int(length)) if hook is not None else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = webhooks.receive(backend, name, headers, raw)
        if hook is None:
            self.close_connection = True
        self._json(answer.status, answer.body)

    def _discard(self, length: int) -> None:
        """Let a refused body drain into nothing (bounded, never kept) before the connection
        closes: closing on a sender still writing resets the connection, and the sender would
        see a broken pipe instead of the answer it was given."""
        remaining = min(length, DISCARD_LIMIT)
        with contextlib.suppress(OSError):
            self.connection.settimeout(DISCARD_SECONDS)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 65536))
                if not chunk:
                    return
                remaining -= len(chunk)

    def _page(self, path: str, query: dict[str, str]) -> None:
        if path in ("/", "/index.html"):
            if "token" in query:
                self._sign_in_from_link(query["token"])
                return
            self._asset("index.html", {"Content-Security-Policy": CSP})
            return
        found = STATIC.match(path)
        if found:
            self._asset(found.group("name"), {})
            return
        if path == "/favicon.ico":
            self._asset("favicon.svg", {})
            return
        self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    def _asset(self, name: str, extra: dict[str, str]) -> None:
        asset = ASSETS.get(name)
        if asset is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
            return
        headers = {"Cache-Control": "no-cache", "ETag": asset.etag, **extra}
        if self.headers.get("If-None-Match") == asset.etag:
            self._headers(HTTPStatus.NOT_MODIFIED, asset.content_type, 0, headers)
            return
        self._send(HTTPStatus.OK, asset.body, asset.content_type, headers)

    def _sign_in_from_link(self, token: str) -> None:
        """``/?token=KEY``: keep the key in a cookie and drop it from the address bar."""
        gate = self.dashboard.gate
        location = "/"
        extra: dict[str, str] = {"Cache-Control": "no-store"}
        try:
            gate.check(token)
            if gate.required:
                extra["Set-Cookie"] = auth.set_cookie(token, secure=self.dashboard.tls)
        except Unauthenticated:
            location = "/#/login/refused"
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain; charset=utf-8", {"Location": location, **extra})

    # -- the API -------------------------------------------------------------------------

    def _token(self) -> str:
        return auth.bearer(self.headers.get("Authorization", "")) or auth.cookie_token(
            self.headers.get("Cookie", "")
        )

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin", "")
        if not origin:
            return True
        return urlsplit(origin).netloc.lower() == self.headers.get("Host", "").lower()

    def _body(self) -> dict[str, Any]:
        length = self.headers.get("Content-Length", "0") or "0"
        if not length.isdigit():
            raise InvalidArgument("Content-Length must be a number")
        if int(length) > MAX_BODY_BYTES:
            from stigmer.errors import ResourceExhausted

            raise ResourceExhausted(f"the request is larger than {MAX_BODY_BYTES // 1024} KiB")
        raw = self.rfile.read(int(length)) if int(length) else b""
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise InvalidArgument("the request body is not JSON") from None
        if not isinstance(data, dict):
            raise InvalidArgument("the request body must be a JSON object")
        return data

    def _api(self, method: str, path: str, query: dict[str, str]) -> None:
        dashboard = self.dashboard
        try:
            body: dict[str, Any] = {}
            if method == "POST":
                if not self._same_origin():
                    self._json(
                        HTTPStatus.FORBIDDEN, {"error": "cross-site request refused", "code": "FORBIDDEN"}
                    )
                    self.close_connection = True
                    return
                if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
                    raise InvalidArgument("send the request as JSON (Content-Type: application/json)")
                body = self._body()
            if path == "/api/login" and method == "POST":
                self._login(body)
                return
            if path == "/api/logout" and method == "POST":
                self._json(200, {}, {"Set-Cookie": auth.clear_cookie(secure=dashboard.tls)})
                return
            caller = dashboard.gate.check(self._token())
            if path == "/api/info" and method == "GET":
                self._json(200, self._info(caller))
                return
            # GET reads (viewer); POST starts, approves, rejects, cancels or resumes (runner).
            roles.check(caller.role, "CreateExecution" if method == "POST" else "GetExecution", caller.name)
            self._route(caller, method, path, query, body)
        except StigmerError as exc:
            self._error(exc)
        except _DISCONNECTED:
            raise
        except Exception:
            log.exception("the dashboard failed to answer %s %s", method, path)
            self._json(500, {"error": f"the dashboard failed to answer {method} {path}; see its log"})

    def _route(
        self, caller: Caller, method: str, path: str, query: dict[str, str], body: dict[str, Any]
    ) -> None:
        """Answer an API request of a signed-in ``caller``."""
        dashboard = self.dashboard
        events = EVENTS.match(path)
        if events and method == "GET":
            self._events(events.group("id"), query)
            return
        found = api.match(method, path)
        if found is None:
            missing = HTTPStatus.METHOD_NOT_ALLOWED if api.path_exists(path) else HTTPStatus.NOT_FOUND
            self._json(missing, {"error": f"no such API: {method} {path}", "code": "NOT_FOUND"})
            return
        handler, params = found
        with dashboard.pool.borrow(actor=f"key:{caller.name}" if caller.name else "") as backend:
            call = api.Call(backend, params, query, body, engine=dashboard.engine, remote=dashboard.remote)
            status, payload = handler(call)
        if (
            isinstance(payload, dict)
            and "actions" in payload
            and not roles.allows(caller.role, "CreateExecution")
        ):
            payload["actions"] = []  # the pages offer no button this key may not press
        self._json(status, payload)

    def _info(self, caller: Caller) -> dict[str, Any]:
        """What the dashboard is: version, what it reads, who signed in, whether it runs work.

        Answered without the store: the backend's own ``info`` counts every table.
        """
        from stigmer.version import __version__

        dashboard = self.dashboard
        if not dashboard.gate.required and dashboard.remote:
            # `stigmer ui` of a home logged in to a server: the server's key decides.
            with dashboard.pool.borrow() as backend:
                role = backend.info().api_key_role
            caller = Caller(caller.name, roles.parse_role(role or "admin"))
        return {
            "version": __version__,
            "backend": dashboard.options.backend_label,
            "remote": dashboard.remote,
            "worker": dashboard.engine.worker_id if dashboard.engine else "",
            "auth": {
                "required": dashboard.gate.required,
                "key": caller.name,
                "role": str(caller.role),
                # What the pages offer: the buttons of what this key may not do are hidden.
                "may": {"run": roles.allows(caller.role, "CreateExecution")},
            },
        }

    def _login(self, body: dict[str, Any]) -> None:
        token = body.get("token", "")
        if not isinstance(token, str) or not token.strip():
            raise InvalidArgument("paste an API key", field="token")
        caller = self.dashboard.gate.check(token.strip())
        cookie = auth.set_cookie(token.strip(), secure=self.dashboard.tls)
        extra = {"Set-Cookie": cookie} if caller.name else {}
        self._json(200, {"key": caller.name, "role": str(caller.role)}, extra)

    def _events(self, execution_id: str, query: dict[str, str]) -> None:
        dashboard = self.dashboard
        raw = self.headers.get("Last-Event-ID") or query.get("after", "") or "0"
        if not raw.isdigit():
            raise InvalidArgument("Last-Event-ID must be an event sequence", field="after")
        with dashboard.pool.borrow() as backend:
            backend.get_execution(execution_id)  # NotFound before the stream starts
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.close_connection = True
        try:
            for chunk in stream(dashboard.pool, execution_id, after=int(raw), stopping=dashboard.stopping):
                self.wfile.write(chunk)
                self.wfile.flush()
        except StigmerError as exc:
            self.wfile.write(frame(api.error_body(exc), event="failure"))
        except _DISCONNECTED:
            raise
        except Exception:  # the headers are sent: say so in the stream, not as a status
            log.exception("the event stream of %s failed", execution_id)
            failed = {"error": "the dashboard failed to follow this execution; see its log"}
            self.wfile.write(frame(failed, event="failure"))


__all__ = ["Handler"]
