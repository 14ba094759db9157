"""Fixtures for the MCP client tests: anyio on asyncio, and the helpdesk over each transport."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stigmer.mcp.types import ServerSpec
from tests.fixtures.mcp_servers.helpdesk import HttpHelpdesk, helpdesk_http, helpdesk_stdio

HelpdeskFactory = Callable[..., ServerSpec]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def shared_http_helpdesk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpHelpdesk]:
    """One HTTP helpdesk for the tests of a module that do not kill it."""
    with helpdesk_http(log=tmp_path_factory.mktemp("helpdesk") / "calls.jsonl") as server:
        yield server


@pytest.fixture(params=["stdio", "http"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def helpdesk(transport: str, request: pytest.FixtureRequest, tmp_path: Path) -> HelpdeskFactory:
    """Specs of the helpdesk over ``transport``: ``helpdesk(name, **spec_fields)``."""
    if transport == "stdio":

        def stdio(name: str = "helpdesk", **fields: Any) -> ServerSpec:
            return helpdesk_stdio(name, log=tmp_path / "calls.jsonl", **fields)

        return stdio
    server: HttpHelpdesk = request.getfixturevalue("shared_http_helpdesk")
    return server.spec
