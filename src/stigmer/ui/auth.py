"""Who may use the dashboard: API keys (as `stigmer server` checks them), cookies, hosts.

With keys required, every API request carries a key: ``Authorization: Bearer KEY`` (for
scripts), or the ``stigmer_key`` cookie that the login form or one visit with ``?token=KEY``
sets (HttpOnly, SameSite=Strict: page scripts cannot read it and other sites cannot send
it). The key is checked against the stored hashes on every request, so a revoked key stops
working at once. Pages and their scripts hold no data and are served to anyone.

Without keys (``stigmer ui`` on 127.0.0.1), the dashboard still answers only requests whose
``Host`` is the address it listens on, so a web page elsewhere cannot reach it through a
DNS name that resolves to 127.0.0.1 (DNS rebinding).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING

from stigmer.errors import Unauthenticated

COOKIE = "stigmer_key"
HINT = "sign in with an API key; whoever runs the server creates one with `stigmer server keys create NAME`"

if TYPE_CHECKING:
    from stigmer.backend.roles import Caller

Verify = Callable[[str], "Caller | None"]
"""A bearer token to the active API key it is (name and role), or None."""


def locked(verify: Verify) -> Verify:
    """``verify`` made safe to call from many threads (one call at a time)."""
    lock = threading.Lock()

    def call(token: str) -> Caller | None:
        with lock:
            return verify(token)

    return call


def bearer(header: str) -> str:
    """The token of an ``Authorization: Bearer …`` header ("" otherwise)."""
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def cookie_token(header: str) -> str:
    """The API key in a ``Cookie`` header ("" without one)."""
    if not header:
        return ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return ""
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else ""


def set_cookie(token: str, *, secure: bool) -> str:
    """The ``Set-Cookie`` value that keeps ``token`` for this browser session."""
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{flags}"


def clear_cookie(*, secure: bool) -> str:
    """The ``Set-Cookie`` value that forgets the key."""
    flags = "; Secure" if secure else ""
    return f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{flags}"


class Gate:
    """Decides whether a request may use the API.

    Args:
        verify: Checks a key; None when the dashboard needs no key.
        hosts: The ``Host`` values accepted (empty: any, for a dashboard that needs a key and
            listens beyond loopback).
    """

    def __init__(self, verify: Verify | None, *, hosts: frozenset[str] = frozenset()) -> None:
        self.verify = verify
        self.hosts = hosts

    @property
    def required(self) -> bool:
        return self.verify is not None

    def host_allowed(self, host: str) -> bool:
        return not self.hosts or host.lower() in self.hosts

    def check(self, token: str) -> Caller:
        """The key ``token`` is (an unnamed admin when no key is required).

        Raises:
            Unauthenticated: A key is required and ``token`` is missing, unknown or revoked.
        """
        from stigmer.backend.roles import Caller

        if self.verify is None:
            return Caller("")
        if not token:
            raise Unauthenticated("this dashboard needs an API key", hint=HINT)
        caller = self.verify(token)
        if caller is None:
            raise Unauthenticated("the API key was refused: it is unknown or revoked", hint=HINT)
        return caller


def loopback_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` header values a browser sends for a dashboard on ``host:port``."""
    names = {host, "localhost", "127.0.0.1", "[::1]"} if host in ("127.0.0.1", "localhost", "::1") else {host}
    bracketed = {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names}
    return frozenset({f"{n}:{port}" for n in bracketed} | ({*bracketed} if port == 80 else set()))


__all__ = [
    "COOKIE",
    "Gate",
    "Verify",
    "bearer",
    "clear_cookie",
    "cookie_token",
    "locked",
    "loopback_hosts",
    "set_cookie",
]
