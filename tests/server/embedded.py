"""A real server on 127.0.0.1, in this process, and a RemoteBackend talking to it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stigmer.backend.keys import create_key
from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import Backend
from stigmer.backend.remote import RemoteBackend
from stigmer.host.embedded import EmbeddedServer
from stigmer.server import ServerOptions
from stigmer.store.database import Database
from tests.clock import FakeClock


class ServedRemoteBackend(RemoteBackend):
    """A RemoteBackend that also stops its server when closed."""

    def __init__(self, server: EmbeddedServer, token: str) -> None:
        super().__init__(server.url, token=token)
        self.token = token
        self.server = server
        self.database = server.server.options.database

    def close(self) -> None:
        super().close()
        self.server.stop()


def served_remote(database: Path, clock: FakeClock, *, worker: bool = False) -> ServedRemoteBackend:
    """A server on a free port of 127.0.0.1 over ``database`` (each of its threads a LocalBackend
    on ``clock``), with one API key, and a RemoteBackend that uses the key."""
    db = Database.open(database)
    try:
        _, token = create_key(db, "conformance")
    finally:
        db.close()
    options = ServerOptions(database=database, port=0, worker=worker, threads=4, grace_seconds=0)
    server = EmbeddedServer(options, open_backend=lambda: LocalBackend.open(database, clock=clock)).start()
    return ServedRemoteBackend(server, token)


@contextmanager
def stored_rows(backend: Backend) -> Iterator[sqlite3.Connection]:
    """The SQLite database behind ``backend``: its own, or its server's."""
    if isinstance(backend, LocalBackend):
        yield backend.db.conn
        return
    assert isinstance(backend, ServedRemoteBackend)
    conn = sqlite3.connect(backend.database)
    try:
        yield conn
    finally:
        conn.close()
