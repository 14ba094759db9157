"""The queue's depth as a metric: a service beside a long-running worker (`stigmer worker`,
`stigmer server`, `stigmer ui`) that lets the gauge ``stigmer.executions.queued`` read the
store's count of runs waiting for a worker (:meth:`~stigmer.backend.protocol.RunJournal.count_queued`)
each time the metrics are read: at each OTLP export, and at each Prometheus scrape."""

from __future__ import annotations

import threading
from collections.abc import Callable

from stigmer.backend.protocol import Backend
from stigmer.config import TelemetrySettings


class QueueDepth:
    """Reports the queue's depth of the store ``open_backend`` opens, with ``settings``' metrics.

    Args:
        open_backend: Opens the backend it reads (its own, closed when it stops).
        settings: The telemetry settings of the worker beside it.
    """

    name = "queue depth"

    def __init__(self, open_backend: Callable[[], Backend], settings: TelemetrySettings) -> None:
        self.open_backend = open_backend
        self.settings = settings
        self._backend: Backend | None = None
        # The metrics are read from more than one thread (an OTLP export, a scrape); a store
        # connection is used by one at a time.
        self._lock = threading.Lock()

    def start(self) -> None:
        from stigmer.telemetry.metrics import metrics_for

        self._backend = self.open_backend()
        metrics_for(self.settings).queue = self.count

    def count(self) -> dict[str, int]:
        """Runs waiting for a worker now, by kind (none once stopped)."""
        with self._lock:
            return self._backend.count_queued() if self._backend is not None else {}

    def stop(self) -> None:
        from stigmer.telemetry.metrics import current

        made = current()
        if made is not None and made.queue == self.count:
            made.queue = None
        with self._lock:
            if self._backend is not None:
                self._backend.close()
                self._backend = None


__all__ = ["QueueDepth"]
