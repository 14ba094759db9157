"""Servers that fail: at start, mid-run, or never answering; and shutdown that leaves nothing behind."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import anyio
import pytest

from stigmer.mcp import McpServerError, ServerSpec
from stigmer.mcp.servers import ToolServers
from tests.fixtures.mcp_servers.helpdesk import (
    free_port,
    helpdesk_http,
    helpdesk_stdio,
    python_server,
    tool_calls,
)

pytestmark = pytest.mark.anyio


def child_pids() -> set[int]:
    """Our child processes (zombies included, until reaped)."""
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text()
        except FileNotFoundError:  # the thread ended since the listing
            continue
        pids.update(int(pid) for pid in children.split())
    return pids


async def wait_until_reaped(before: set[int]) -> set[int]:
    """Children started since ``before`` that are still there after a short wait."""
    for _ in range(50):
        left = child_pids() - before
        if not left:
            break
        await anyio.sleep(0.02)
    return left


async def start_error(*specs: ServerSpec) -> McpServerError:
    """The error ToolServers raises on enter, checking that no process was left behind."""
    before = child_pids()
    with pytest.raises(McpServerError) as caught:
        async with ToolServers(list(specs)):
            pytest.fail("must not open")
    assert await wait_until_reaped(before) == set()
    return caught.value


async def test_a_command_that_does_not_exist() -> None:
    error = await start_error(ServerSpec(name="ghost", command="stigmer-no-such-mcp-server"))
    assert error.server == "ghost"
    assert "MCP server 'ghost': command 'stigmer-no-such-mcp-server' not found" in str(error)
    assert error.hint


async def test_a_working_dir_that_does_not_exist(tmp_path: Path) -> None:
    error = await start_error(helpdesk_stdio(working_dir=str(tmp_path / "missing")))
    assert "working directory" in str(error)
    assert "does not exist" in str(error)


async def test_a_server_that_exits_at_once_shows_its_stderr() -> None:
    code = "import sys; print('helpdesk: HELPDESK_TOKEN is not set', file=sys.stderr); sys.exit(3)"
    error = await start_error(python_server("helpdesk", code))
    assert error.server == "helpdesk"
    assert "MCP server 'helpdesk': exited (or closed its stdout) during start-up" in str(error)
    assert error.stderr_tail == "helpdesk: HELPDESK_TOKEN is not set"
    assert "HELPDESK_TOKEN is not set" in str(error)


async def test_a_server_that_crashes_during_initialize_shows_its_traceback() -> None:
    code = "import sys; sys.stdin.readline(); raise RuntimeError('cannot open database orders.db')"
    error = await start_error(python_server("helpdesk", code))
    assert "RuntimeError: cannot open database orders.db" in error.stderr_tail
    assert error.stderr_tail.startswith("Traceback")


async def test_the_error_shows_only_the_last_twenty_lines_of_stderr() -> None:
    code = "import sys\nfor n in range(100): print(f'line {n}', file=sys.stderr)\nsys.exit(1)"
    error = await start_error(python_server("chatty", code))
    assert error.stderr_tail.splitlines() == [f"line {n}" for n in range(80, 100)]


async def test_a_server_that_never_answers_runs_out_its_startup_timeout() -> None:
    # Reads its stdin to the end and never answers: it exits only when the client gives up.
    code = "import sys; print('warming up the cache', file=sys.stderr, flush=True); sys.stdin.read()"
    error = await start_error(python_server("slow", code, startup_timeout_s=0.5))
    assert "MCP server 'slow': did not start within 0.5s" in str(error)
    assert error.stderr_tail == "warming up the cache"


async def test_an_unreachable_http_server() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    error = await start_error(ServerSpec(name="remote", url=url))
    assert f"MCP server 'remote': cannot reach {url} during start-up" in str(error)
    assert "ConnectError" in str(error)


async def test_one_failing_server_stops_the_others_at_once_and_names_itself() -> None:
    broken = python_server("broken", "import sys; sys.exit('broken: no config')")
    # Would fail on its own only after its start-up timeout, far past this test's own timeout
    # (pytest-timeout): waiting for it instead of stopping it at once fails the test.
    silent = python_server("silent", "import sys; sys.stdin.read()", startup_timeout_s=3600)
    error = await start_error(helpdesk_stdio("good"), broken, silent)
    assert error.server == "broken"
    assert "broken: no config" in str(error)


async def test_specs_need_one_transport_and_distinct_names() -> None:
    with pytest.raises(McpServerError, match="needs exactly one of a command"):
        ToolServers([ServerSpec(name="nothing")])
    with pytest.raises(McpServerError, match="needs exactly one of a command"):
        ToolServers([ServerSpec(name="both", command="x", url="http://127.0.0.1:1/mcp")])
    with pytest.raises(McpServerError, match="MCP server 'twice': is listed twice"):
        ToolServers([helpdesk_stdio("twice"), helpdesk_stdio("twice")])


async def test_a_stdio_server_killed_between_calls(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    before = child_pids()
    async with ToolServers([helpdesk_stdio(log=log)]) as servers:
        await servers.call("fail", {"message": "toner-empty"})  # the server logs this to stderr
        os.kill(tool_calls(log)[0]["pid"], signal.SIGKILL)

        with pytest.raises(McpServerError) as caught:
            await servers.call("find_order", {"id": "A-1"})
        assert "MCP server 'helpdesk': exited (or closed its stdout)" in str(caught.value)
        assert "toner-empty" in caught.value.stderr_tail
        with pytest.raises(McpServerError, match=r"exited \(or closed its stdout\)"):
            await servers.call("find_order", {"id": "A-2"})  # and stays dead

    assert [c["tool"] for c in tool_calls(log)] == ["fail"]
    assert await wait_until_reaped(before) == set()


async def test_a_stdio_server_that_dies_during_a_call(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    # The call and its timeout outlast this test's own timeout: only noticing the death ends it.
    async with ToolServers([helpdesk_stdio(log=log, tool_timeout_s=3600)]) as servers:

        async def kill_once_sleeping() -> None:
            while not tool_calls(log, "sleep"):
                await anyio.sleep(0.02)
            os.kill(tool_calls(log)[0]["pid"], signal.SIGKILL)

        async with anyio.create_task_group() as group:
            group.start_soon(kill_once_sleeping)
            with pytest.raises(McpServerError, match=r"exited \(or closed its stdout\)"):
                await servers.call("sleep", {"seconds": 3600})


async def test_an_http_server_killed_between_calls() -> None:
    with helpdesk_http() as server:
        async with ToolServers([server.spec("remote")]) as servers:
            assert not (await servers.call("find_order", {"id": "A-1"})).is_error
            server.kill()
            with pytest.raises(McpServerError) as caught:
                await servers.call("find_order", {"id": "A-2"})
            assert caught.value.server == "remote"
            assert server.url in str(caught.value)
            with pytest.raises(McpServerError):
                await servers.call("find_order", {"id": "A-3"})


async def test_leaving_closes_every_server_and_keeps_the_body_error() -> None:
    before = child_pids()
    with pytest.raises(ValueError, match="the agent gave up"):
        async with ToolServers(
            [helpdesk_stdio("a", enabled_tools=["find_order"]), helpdesk_stdio("b", enabled_tools=["fail"])]
        ) as servers:
            assert len(child_pids() - before) == 2
            raise ValueError("the agent gave up")
    assert await wait_until_reaped(before) == set()
    with pytest.raises(McpServerError, match="is closed"):
        await servers.call("find_order", {"id": "A-1"})


async def test_a_cancelled_call_and_a_cancelled_start_leave_nothing_behind() -> None:
    before = child_pids()
    async with ToolServers([helpdesk_stdio()]) as servers:
        with anyio.move_on_after(0.3):
            await servers.call("sleep", {"seconds": 30})
        assert not (await servers.call("find_order", {"id": "A-1"})).is_error
    with anyio.move_on_after(0.1) as start:
        async with ToolServers([helpdesk_stdio()]):
            pytest.fail("must not open within 0.1s")
    assert start.cancelled_caught
    assert await wait_until_reaped(before) == set()
