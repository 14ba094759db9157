"""Fixtures of the model tests: recorded HTTP exchanges, and no remote network at all.

Model tests never reach a remote host: connections and name lookups beyond loopback
fail the test (STYLE 9), and model keys are removed from the environment, so a test
can only talk to a recording or to a server it started on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.models.cassettes import Cassette

MODEL_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OLLAMA_HOST",
    "STIGMER_MODEL",
)


def _is_local(host: Any) -> bool:
    if host in (None, "localhost", ""):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_remote_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Refuse every connection and name lookup that is not loopback, and fail the test if one was tried."""
    tried: list[str] = []
    connect = socket.socket.connect
    connect_ex = socket.socket.connect_ex
    getaddrinfo = socket.getaddrinfo

    def guard(address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if not _is_local(host):
            tried.append(str(host))
            raise ConnectionRefusedError(f"tests may not reach remote hosts ({host})")

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        guard(address)
        connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        guard(address)
        return connect_ex(sock, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        guard((host,))
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield tried
    assert not tried, f"a test tried to reach remote hosts: {tried}"


@pytest.fixture(autouse=True)
def no_model_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real keys and endpoints of the person running the tests are never used."""
    for name in MODEL_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def cassette() -> Iterator[Callable[[str, str], Cassette]]:
    """``cassette(name, key)`` opens ``recordings/NAME.yaml``; every interaction must be played."""
    opened: list[Cassette] = []

    def open_(name: str, key: str) -> Cassette:
        recording = Cassette.load(name, key)
        opened.append(recording)
        return recording

    yield open_
    for recording in opened:
        recording.check()
