"""A tool call that times out or is cancelled tells the server (MCP notifications/cancelled),
and nobody waits for the server to finish it."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from stigmer.mcp.servers import ToolServers
from stigmer.mcp.types import ServerSpec
from tests.fixtures.mcp_servers.helpdesk import python_http_server

PROBE = Path(__file__).resolve().parents[1] / "fixtures" / "mcp_servers" / "probe.py"
# Far beyond this test's own timeout (pytest-timeout): waiting for the tool to end fails the test.
FOREVER = 3600


@pytest.fixture
def probe(transport: str, tmp_path: Path) -> Iterator[tuple[ServerSpec, Path]]:
    log = tmp_path / "probe.log"
    if transport == "stdio":
        yield ServerSpec("probe", command=sys.executable, args=[str(PROBE)], env={"PROBE_LOG": str(log)}), log
        return
    with python_http_server(PROBE, {**os.environ, "PROBE_LOG": str(log)}) as server:
        yield server.spec("probe"), log


async def _events(log: Path, until: str) -> list[str]:
    # The server records the cancellation when it handles the notification, after our call
    # returned: read until it shows (bounded), never sleep a fixed time.
    deadline = time.monotonic() + 30
    while True:
        events = [json.loads(line)["event"] for line in log.read_text().splitlines()] if log.exists() else []
        if until in events or time.monotonic() > deadline:
            return events
        await anyio.sleep(0.05)  # lets the client send (it runs in this event loop)


@pytest.mark.anyio
async def test_a_timed_out_call_is_cancelled_on_the_server(probe: tuple[ServerSpec, Path]) -> None:
    spec, log = probe
    spec.tool_timeout_s = 0.5
    async with ToolServers([spec]) as servers:
        result = await servers.call("slow", {"seconds": FOREVER})
        assert (result.text, result.is_error) == ("tool slow timed out after 0.5s", True)
        assert await _events(log, "slow.cancelled") == ["slow.start", "slow.cancelled"]
        after = await servers.call("add", {"a": 1, "b": 2})
        assert after.text == "3"  # the session goes on


@pytest.mark.anyio
async def test_a_call_its_caller_cancels_is_cancelled_on_the_server(probe: tuple[ServerSpec, Path]) -> None:
    spec, log = probe
    spec.tool_timeout_s = FOREVER
    async with ToolServers([spec]) as servers:
        with anyio.move_on_after(0.5) as scope:
            await servers.call("slow", {"seconds": FOREVER})
        assert scope.cancelled_caught
        assert await _events(log, "slow.cancelled") == ["slow.start", "slow.cancelled"]
