"""Fixtures shared by every suite: one backend of each type, on a clock the test controls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import Backend
from tests.clock import FakeClock

if TYPE_CHECKING:
    from stigmer.engine.temporal.devserver import DevServer

BackendFactory = Callable[[Path, FakeClock], Backend]


def _local(tmp_path: Path, clock: FakeClock) -> Backend:
    return LocalBackend.open(tmp_path / "local.db", clock=clock)


def _remote(tmp_path: Path, clock: FakeClock) -> Backend:
    """A RemoteBackend talking to a real server on 127.0.0.1 that wraps a LocalBackend on ``clock``."""
    from tests.server.embedded import served_remote

    return served_remote(tmp_path / "server.db", clock)


# Every backend the conformance suite holds to the protocol, by the type BackendInfo reports.
BACKENDS: dict[str, BackendFactory] = {"local": _local, "remote": _remote}


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
def backend(backend_type: str, tmp_path: Path, clock: FakeClock) -> Iterator[Backend]:
    opened = BACKENDS[backend_type](tmp_path, clock)
    yield opened
    opened.close()
