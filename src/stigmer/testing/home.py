"""A throwaway Stigmer home, and fault injection for crash tests."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stigmer.backend.local import LocalBackend
from stigmer.clock import Clock, utcnow


@contextmanager
def temporary_backend(*, clock: Clock = utcnow) -> Iterator[LocalBackend]:
    """A LocalBackend on a fresh database in a temporary directory, removed afterwards.

    Example:
        >>> with temporary_backend() as backend:
        ...     backend.info().type
        'local'
    """
    with tempfile.TemporaryDirectory(prefix="stigmer-test-") as home:
        # Thrown away afterwards: commits need not survive a power loss.
        backend = LocalBackend.open(Path(home) / "local.db", clock=clock, durability="normal")
        try:
            yield backend
        finally:
            backend.close()


def crash_at(point: str, nth: int = 1) -> dict[str, str]:
    """Environment variables that make a Stigmer process SIGKILL itself at a fault point.

    Pass them to a subprocess (``env={**os.environ, **crash_at("apply.resource_written", 3)}``)
    to prove that a crash there loses nothing that was committed and writes nothing half-done.
    Points: ``apply.resource_written``, ``import.resource_written`` (inside those
    transactions, before commit); ``agent.model_recorded``, ``agent.tool_called`` (a tool
    ran, its result not yet recorded) and ``agent.tool_recorded`` in the agent runner;
    ``secrets.rotation_key_added`` (new key stored, nothing re-sealed), ``secrets.rotation_resealed``
    (inside the re-sealing transaction, after each secret) and ``secrets.rotation_committed``
    (re-sealed, old key not yet dropped) in a master key rotation.
    """
    return {"STIGMER_FAULTS": f"{point}={nth}"}


__all__ = ["crash_at", "temporary_backend"]
