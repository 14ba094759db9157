"""The API-key store a host hands to its gRPC server and its dashboard."""

from __future__ import annotations

import threading
from pathlib import Path

from stigmer.store.database import Database


class ApiKeyStore:
    """The API keys of one database, checked from any thread (one check at a time).

    Args:
        database: The SQLite file whose ``api_keys`` table holds the keys.
    """

    def __init__(self, database: Path) -> None:
        self.database = database
        self._db = Database.open(database)
        self._lock = threading.Lock()

    def verify(self, token: str) -> str | None:
        """The name of the active key ``token`` is, or None."""
        from stigmer.server import keys

        with self._lock:
            key = keys.verify(self._db.conn, token)
        return key.name if key else None

    def active(self) -> int:
        """How many keys are not revoked."""
        from stigmer.server import keys

        with self._lock:
            return keys.count_active(self._db.conn)

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["ApiKeyStore"]
