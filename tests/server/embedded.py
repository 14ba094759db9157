"""A real server on 127.0.0.1, in this process, and a RemoteBackend talking to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stigmer.backend.keys import create_key
from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import Backend
from stigmer.backend.remote import RemoteBackend
from stigmer.host.embedded import EmbeddedServer
from stigmer.secrets.keys import MasterKeys
from stigmer.server import ServerOptions
from stigmer.store.connection import Connection
from stigmer.store.database import open_database
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


def served_remote(
    database: Path | str, clock: FakeClock, *, worker: bool = False, keys: MasterKeys | None = None
) -> ServedRemoteBackend:
    """A server on a free port of 127.0.0.1 over ``database`` (a SQLite file or a PostgreSQL URL;
    each of its threads a LocalBackend on ``clock``), with one API key, and a RemoteBackend
    that uses the key."""
    db = open_database(database)
    try:
        _, token = create_key(db, "conformance")
    finally:
        db.close()
    options = ServerOptions(database=database, port=0, worker=worker, threads=4, grace_seconds=0)
    server = EmbeddedServer(
        options, open_backend=lambda: LocalBackend.open(database, clock=clock, keys=keys)
    ).start()
    return ServedRemoteBackend(server, token)


@contextmanager
def stored_rows(backend: Backend) -> Iterator[Connection]:
    """A read transaction on the store behind ``backend`` (SQLite or PostgreSQL): its own, or its server's."""
    if isinstance(backend, LocalBackend):
        with backend.db.read() as conn:
            yield conn
        return
    assert isinstance(backend, ServedRemoteBackend)
    db = open_database(backend.database)
    try:
        with db.read() as conn:
            yield conn
    finally:
        db.close()
