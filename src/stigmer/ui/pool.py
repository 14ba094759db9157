"""Backends for the dashboard's request threads: opened on demand, lent one request at a time.

A SQLite connection (or a gRPC channel) must not serve two requests at once, and opening
one per request would cost more than the request; so a few are kept and lent out. A live
event stream borrows one only for each poll, never while it waits.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from stigmer.backend.protocol import Backend
from stigmer.errors import Unavailable

DEFAULT_SIZE = 8
BORROW_TIMEOUT_SECONDS = 30.0


class BackendPool:
    """At most ``size`` backends, each used by one thread at a time.

    Args:
        open_backend: Opens one backend (called on first need, up to ``size`` times).
        size: How many may be open at once.
    """

    def __init__(self, open_backend: Callable[[], Backend], *, size: int = DEFAULT_SIZE) -> None:
        self.open_backend = open_backend
        self.size = size
        self._idle: queue.LifoQueue[Backend] = queue.LifoQueue()
        self._opened: list[Backend] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def borrow(self, *, actor: str = "") -> Iterator[Backend]:
        """A backend for this thread until the block ends; ``actor`` is who writes (history).

        Raises:
            Unavailable: The pool is closed, or every backend stayed busy for 30 seconds.
        """
        backend = self._take()
        default = backend.actor if hasattr(backend, "actor") else None  # LocalBackend records who wrote
        if actor and hasattr(backend, "actor"):
            backend.actor = actor
        try:
            yield backend
        finally:
            if actor and hasattr(backend, "actor"):
                backend.actor = default
            self._give_back(backend)

    def _take(self) -> Backend:
        if self._closed:
            raise Unavailable("the dashboard is shutting down")
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._opened) < self.size:
                backend = self.open_backend()
                self._opened.append(backend)
                return backend
        try:
            return self._idle.get(timeout=BORROW_TIMEOUT_SECONDS)
        except queue.Empty:
            raise Unavailable("the dashboard is busy: every backend connection is in use") from None

    def _give_back(self, backend: Backend) -> None:
        if self._closed:
            backend.close()
            return
        self._idle.put(backend)

    def close(self) -> None:
        """Close the idle backends now; busy ones are closed when they are given back."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break


__all__ = ["BackendPool"]
