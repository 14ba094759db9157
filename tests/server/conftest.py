"""Fixtures for server tests: a `stigmer server` subprocess on 127.0.0.1 with an API key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import Stigmer, workdir
from tests.server.harness import ServerProcess


def server_home(root: Path) -> Stigmer:
    """The server's home, with examples/ in its working directory."""
    return Stigmer(root / "server-home", workdir(root / "server-work"))


def create_key(home: Stigmer, name: str) -> str:
    """`stigmer server keys create NAME` in the server's home; the key it printed."""
    return home("server", "keys", "create", name).out.strip()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """One server for a module's tests, and its admin key."""
    home = server_home(tmp_path_factory.mktemp("server"))
    key = create_key(home, "admin")
    server = ServerProcess(home).start()
    try:
        yield server, key
    finally:
        server.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own (to kill, restart or configure); started by the test."""
    server = ServerProcess(server_home(tmp_path))
    try:
        yield server
    finally:
        server.stop()


def logged_in(root: Path, server: ServerProcess, key: str) -> Stigmer:
    """A client home (with examples/ in its working directory) logged in to ``server``."""
    client = Stigmer(root / "client-home", workdir(root / "client-work"))
    client("login", server.url, "--token", key)
    return client
