"""Services that run beside the worker: retention pruning here; firing schedules in
:class:`stigmer.triggers.schedules.ScheduleService`.

A service is started by the :class:`~stigmer.host.host.Host` after the worker and stopped
before it. Each opens its own backend (on its own thread), so it never holds up the
worker's runs or the server's calls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from stigmer.backend.protocol import Backend

log = logging.getLogger("stigmer.host")

# How often a host with a retention setting prunes old runs.
PRUNE_EVERY_SECONDS = 3600.0


class Service(Protocol):
    """Something that runs beside the worker for as long as the host does."""

    name: str

    def start(self) -> None:
        """Begin (on a thread of its own); return at once."""
        ...

    def stop(self) -> None:
        """End what is under way and return once stopped."""
        ...


class Retention:
    """Deletes finished runs older than ``older_than`` seconds: at start, then every ``every``.

    Args:
        open_backend: Opens the backend each prune uses (closed after it).
        older_than: The age, in seconds, of finished runs that go (the ``retention`` setting).
        every: Seconds between prunes.
        say: Where it reports what went, and failures (the worker goes on after a failure, and
            tries again at the next period).
    """

    name = "retention"

    def __init__(
        self,
        open_backend: Callable[[], Backend],
        older_than: int,
        *,
        every: float = PRUNE_EVERY_SECONDS,
        say: Callable[[str], None] = log.warning,
    ) -> None:
        self.open_backend = open_backend
        self.older_than = older_than
        self.every = every
        self.say = say
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="stigmer-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()  # after the prune under way, if any (each batch is short)

    def _main(self) -> None:
        # The first prune happens even when stopped at once: a host that started, pruned.
        while True:
            self.prune_once()
            if self._stop.wait(self.every):
                return

    def prune_once(self) -> None:
        """Prune once, reporting what went (nothing is said when nothing went)."""
        try:
            backend = self.open_backend()
            try:
                result = backend.prune_executions(self.older_than)
            finally:
                backend.close()
        except Exception as exc:  # the worker goes on running, and this tries again next period
            self.say(f"retention: pruning failed (the worker tries again in an hour): {exc}")
            return
        total = sum(result.deleted.values())
        if total or result.kept:
            kept = f"; kept {result.kept} whose child runs have not all finished" if result.kept else ""
            self.say(
                f"retention: pruned {total} execution{'' if total == 1 else 's'} that finished before "
                f"{result.cutoff.ToJsonString()}{kept}"
            )


__all__ = ["PRUNE_EVERY_SECONDS", "Retention", "Service"]
