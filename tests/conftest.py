"""Fixtures shared by every suite: one backend of each type on each store, on a clock the test
controls, and a real PostgreSQL server for the session."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import Backend
from stigmer.secrets.keys import MasterKeys
from tests.clock import FakeClock

if TYPE_CHECKING:
    from stigmer.engine.temporal.devserver import DevServer
    from stigmer.testing.postgres import PostgresServer

# (where the store is: a SQLite file or a PostgreSQL URL, the test's directory, its clock)
BackendFactory = Callable[[str, Path, FakeClock], Backend]


def _local(database: str, tmp_path: Path, clock: FakeClock) -> Backend:
    return LocalBackend.open(database, clock=clock, keys=MasterKeys(tmp_path))


def _remote(database: str, tmp_path: Path, clock: FakeClock) -> Backend:
    """A RemoteBackend talking to a real server on 127.0.0.1 that wraps a LocalBackend on ``clock``."""
    from tests.server.embedded import served_remote

    return served_remote(database, clock, keys=MasterKeys(tmp_path))


# Every backend the conformance suite holds to the protocol, by the type BackendInfo reports.
BACKENDS: dict[str, BackendFactory] = {"local": _local, "remote": _remote}
# Every store each backend runs on: the conformance suite runs every test on each.
STORES = ("sqlite", "postgresql")
POSTGRES_TEMPLATE = "stigmer_template"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 for the whole session (started when first needed),
    with a migrated template database that each test's database is copied from."""
    from stigmer.store.database import open_database
    from stigmer.testing.postgres import PostgresServer

    with PostgresServer() as server:
        open_database(server.create_database(POSTGRES_TEMPLATE)).close()
        yield server


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test (a copy of the template, ~50 ms),
    dropped after it."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    url = postgres.create_database(name, template=POSTGRES_TEMPLATE)
    yield url
    postgres.drop_database(name)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database(store: str, backend_type: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where the test's store is: a SQLite file in its directory, or a fresh PostgreSQL database."""
    if store == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return str(tmp_path / ("local.db" if backend_type == "local" else "server.db"))


@pytest.fixture(autouse=True)
def _master_key_in_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Master keys go to $STIGMER_HOME/master.key in tests, never to the OS keyring."""
    monkeypatch.setenv("STIGMER_KEYRING", "0")


@pytest.fixture(scope="session")
def temporal_server() -> Iterator[DevServer]:
    """A Temporal dev server on 127.0.0.1, for the whole session (started when first needed)."""
    from stigmer.engine.temporal.devserver import DevServer

    with DevServer() as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=sorted(BACKENDS))
def backend_type(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend(backend_type: str, database: str, tmp_path: Path, clock: FakeClock) -> Iterator[Backend]:
    opened = BACKENDS[backend_type](database, tmp_path, clock)
    yield opened
    opened.close()
