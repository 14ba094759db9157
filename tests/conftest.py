"""Fixtures shared by every suite: one backend of each type, on a clock the test controls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import Backend
from tests.clock import FakeClock

BackendFactory = Callable[[Path, FakeClock], Backend]


def _local(tmp_path: Path, clock: FakeClock) -> Backend:
    return LocalBackend.open(tmp_path / "local.db", clock=clock)


# Every backend the conformance suite holds to the protocol, by the type BackendInfo reports.
# RemoteBackend joins as "remote": a server wrapping a LocalBackend on `clock`, and a stub.
BACKENDS: dict[str, BackendFactory] = {"local": _local}


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
