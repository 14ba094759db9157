"""`stigmer server --metrics-port`: the process's run metrics as Prometheus text, on
``GET /metrics``, served beside the worker (a :class:`~stigmer.host.services.Service`)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stigmer.config import TelemetrySettings

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class MetricsEndpoint:
    """Serves ``GET /metrics`` on ``host:port`` (0: a free port) until stopped.

    Args:
        host: Where it listens (the server's host).
        settings: The telemetry settings of the worker beside it (``metrics_port`` set), so both
            read and write the same instruments.
    """

    def __init__(self, host: str, settings: TelemetrySettings) -> None:
        self.host = host
        self.settings = settings
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.name = "metrics"

    @property
    def url(self) -> str:
        """Where the metrics are, once started."""
        assert self._server is not None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.server_address[1]}/metrics"

    def start(self) -> None:
        from stigmer.telemetry.metrics import metrics_for, prometheus_text

        metrics = metrics_for(self.settings)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404, "the metrics are at /metrics")
                    return
                body = prometheus_text(metrics.collect()).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, self.settings.metrics_port or 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="stigmer-metrics", daemon=True
        )
        self._thread.start()
        self.name = f"metrics ({self.url})"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


__all__ = ["CONTENT_TYPE", "MetricsEndpoint"]
