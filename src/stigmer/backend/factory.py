"""Open the backend a home's config selects."""

from __future__ import annotations

from stigmer.backend.protocol import Backend
from stigmer.config import Config


def open_backend(config: Config) -> Backend:
    """The configured backend: today the local SQLite one."""
    from stigmer.backend.local import LocalBackend

    return LocalBackend.open(config.database_path)


__all__ = ["open_backend"]
