"""The dashboard server: an HTTP server on its own thread, and its backends.

`stigmer ui` runs one on 127.0.0.1 over the backend the CLI uses; `stigmer server
--ui-port P` runs one beside the gRPC server, over the same store, behind the same API keys
(and TLS, when the server has it). Request threads borrow backends from a small pool. The
worker that runs what is started here is the host's (see :mod:`stigmer.host`), handed in.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stigmer.backend.protocol import Backend
from stigmer.errors import InvalidArgument
from stigmer.ui.auth import Gate, Verify, loopback_hosts
from stigmer.ui.handler import Handler
from stigmer.ui.pool import DEFAULT_SIZE, BackendPool

if TYPE_CHECKING:
    from stigmer.engine.thread import EngineThread

DEFAULT_UI_PORT = 7879
log = logging.getLogger("stigmer.ui")


@dataclass
class DashboardOptions:
    """How a dashboard runs.

    Args:
        host: Where it listens.
        port: 0 picks a free one (see :attr:`Dashboard.port`).
        remote: The backend is a `stigmer server` (its worker runs executions).
        tls_cert: PEM certificate chain; with ``tls_key``, the dashboard speaks HTTPS only.
        tls_key: PEM private key.
        pool_size: Backends open at once for requests.
        backend_label: What the footer says the dashboard reads (a database file, a server URL).
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_UI_PORT
    remote: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    pool_size: int = DEFAULT_SIZE
    backend_label: str = ""

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], dashboard: Dashboard, tls: ssl.SSLContext | None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.dashboard = dashboard
        self.tls = tls
        super().__init__(address, Handler)

    def get_request(self) -> tuple[Any, Any]:
        conn, address = super().get_request()
        if self.tls is not None:
            # The handshake happens on the request's thread (Handler.setup), not here.
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s failed", client_address, exc_info=True)


class Dashboard:
    """The web dashboard over a backend.

    Args:
        options: How to run.
        open_backend: Opens one backend (for a request thread, or for the worker).
        verify: Checks API keys; None lets anyone who reaches the address in (loopback only).
        engine: The worker of this process (the host's), which resumes runs on request.

    Example::

        with Dashboard(DashboardOptions(port=0), open_backend=lambda: open_backend(config)) as ui:
            print(ui.url)
    """

    def __init__(
        self,
        options: DashboardOptions,
        *,
        open_backend: Callable[[], Backend],
        verify: Verify | None = None,
        engine: EngineThread | None = None,
    ) -> None:
        self.options = options
        self.open_backend = open_backend
        self.verify = verify
        self.pool = BackendPool(open_backend, size=options.pool_size)
        self.gate = Gate(verify)
        self.engine = engine
        self.stopping = threading.Event()
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def remote(self) -> bool:
        return self.options.remote

    @property
    def tls(self) -> bool:
        return self.options.tls

    @property
    def url(self) -> str:
        host = self.options.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/"

    def start(self) -> Dashboard:
        """Bind and start serving on a thread.

        Raises:
            InvalidArgument: The port is taken, the host cannot be bound, or a TLS file cannot
                be read.
        """
        options = self.options
        context = _tls_context(options) if options.tls else None
        try:
            server = _Server((options.host, options.port), self, context)
        except OSError as exc:
            raise InvalidArgument(
                f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}",
                field="--port",
                hint="is something else using it? pick another port, or 0 for any free one",
            ) from None
        self.port = int(server.server_address[1])
        loopback = options.host in ("127.0.0.1", "localhost", "::1")
        self.gate = Gate(
            self.verify, hosts=loopback_hosts(options.host, self.port) if loopback else frozenset()
        )
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="stigmer-ui", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (live streams end); the worker is its host's to stop."""
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.pool.close()

    def __enter__(self) -> Dashboard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tls_context(options: DashboardOptions) -> ssl.SSLContext:
    assert options.tls_cert and options.tls_key
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(options.tls_cert, options.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidArgument(f"cannot load the TLS certificate or key: {exc}", field="--tls-cert") from None
    return context


__all__ = ["DEFAULT_UI_PORT", "Dashboard", "DashboardOptions"]
