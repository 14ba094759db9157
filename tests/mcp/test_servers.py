"""Real helpdesk servers, over stdio and over streamable HTTP: tools, filtering, approval, calls."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio
import pytest
import yaml

from stigmer.mcp import McpServerError, ServerSpec
from stigmer.mcp.servers import ToolServers
from tests.fixtures.mcp_servers.helpdesk import (
    HELPDESK_TOOLS,
    REPO,
    HttpHelpdesk,
    helpdesk_stdio,
    tool_calls,
)

from .conftest import HelpdeskFactory

pytestmark = pytest.mark.anyio


async def test_lists_every_tool_with_its_description_and_schema(helpdesk: HelpdeskFactory) -> None:
    async with ToolServers([helpdesk()]) as servers:
        tools = servers.tools()

    assert [t.spec.name for t in tools] == HELPDESK_TOOLS
    find_order = tools[0]
    assert find_order.server == "helpdesk"
    assert find_order.needs_approval is False
    assert find_order.spec.description == "Look up an order by its id and describe it."
    assert find_order.spec.parameters["properties"]["id"]["type"] == "string"
    assert find_order.spec.parameters["required"] == ["id"]


async def test_offers_only_enabled_tools_and_marks_those_that_need_approval(
    helpdesk: HelpdeskFactory,
) -> None:
    # As examples/mcpservers/helpdesk.yaml declares it.
    spec = helpdesk(
        enabled_tools=["find_order", "create_ticket", "refund_order"], approval_required=["refund_order"]
    )
    async with ToolServers([spec]) as servers:
        offered = {t.spec.name: t.needs_approval for t in servers.tools()}
        refused = await servers.call("echo_env", {"name": "HOME"})

    assert offered == {"find_order": False, "create_ticket": False, "refund_order": True}
    assert refused.is_error
    assert "unknown tool 'echo_env'" in refused.text


async def test_an_enabled_tool_the_server_does_not_offer_fails_the_start(helpdesk: HelpdeskFactory) -> None:
    with pytest.raises(McpServerError) as caught:
        async with ToolServers([helpdesk(enabled_tools=["find_order", "cancel_order"])]):
            pytest.fail("must not open")
    message = str(caught.value)
    assert "enabledTools names 'cancel_order'" in message
    assert "it offers: " + ", ".join(HELPDESK_TOOLS) in message


async def test_calls_tools_and_returns_their_text(helpdesk: HelpdeskFactory) -> None:
    async with ToolServers([helpdesk()]) as servers:
        order = await servers.call("find_order", {"id": "A-1001"})
        again = await servers.call("find_order", {"id": "A-1001"})
        ticket = await servers.call("create_ticket", {"subject": "Mug arrived broken"})

    assert not order.is_error
    assert order.text.startswith("Order A-1001: ")
    assert again.text == order.text  # deterministic
    assert ticket.text.endswith("created: Mug arrived broken")


async def test_calls_run_concurrently(helpdesk: HelpdeskFactory) -> None:
    texts: dict[str, str] = {}

    async with ToolServers([helpdesk()]) as servers:

        async def find(order_id: str) -> None:
            texts[order_id] = (await servers.call("find_order", {"id": order_id})).text

        async with anyio.create_task_group() as group:
            for n in range(5):
                group.start_soon(find, f"A-{n}")

    assert all(texts[f"A-{n}"].startswith(f"Order A-{n}: ") for n in range(5))


async def test_tool_errors_come_back_as_error_results(helpdesk: HelpdeskFactory) -> None:
    async with ToolServers([helpdesk()]) as servers:
        failed = await servers.call("fail", {"message": "printer out of toner"})
        bad_arguments = await servers.call("find_order", {})
        unknown = await servers.call("delete_everything", {})
        still_fine = await servers.call("find_order", {"id": "A-1"})

    assert failed.is_error
    assert "printer out of toner" in failed.text
    assert bad_arguments.is_error
    assert "id" in bad_arguments.text
    assert unknown.is_error
    assert "unknown tool 'delete_everything'; the tools on offer are: create_ticket, echo_env" in unknown.text
    assert not still_fine.is_error


async def test_a_call_that_outruns_the_tool_timeout_is_an_error_result(helpdesk: HelpdeskFactory) -> None:
    async with ToolServers([helpdesk(tool_timeout_s=0.5)]) as servers:
        started = time.monotonic()
        slow = await servers.call("sleep", {"seconds": 10})
        waited = time.monotonic() - started
        after = await servers.call("find_order", {"id": "A-1"})

    assert slow == type(slow)("tool sleep timed out after 0.5s", is_error=True)
    assert waited < 3
    assert not after.is_error  # the session survives a timeout


async def test_a_tool_name_two_servers_offer_fails_the_start(helpdesk: HelpdeskFactory) -> None:
    with pytest.raises(McpServerError) as caught:
        async with ToolServers([helpdesk("orders"), helpdesk("tickets")]):
            pytest.fail("must not open")
    assert "tool 'find_order' is offered by both MCP servers 'orders' and 'tickets'" in str(caught.value)


async def test_two_servers_with_distinct_tools_each_get_their_calls(tmp_path: Path) -> None:
    orders_log, tickets_log = tmp_path / "orders.jsonl", tmp_path / "tickets.jsonl"
    orders = helpdesk_stdio("orders", log=orders_log, enabled_tools=["find_order"])
    tickets = helpdesk_stdio("tickets", log=tickets_log, enabled_tools=["create_ticket"])
    async with ToolServers([orders, tickets]) as servers:
        assert [(t.server, t.spec.name) for t in servers.tools()] == [
            ("orders", "find_order"),
            ("tickets", "create_ticket"),
        ]
        await servers.call("create_ticket", {"subject": "hello"})
        await servers.call("find_order", {"id": "A-1"})

    assert [c["tool"] for c in tool_calls(orders_log)] == ["find_order"]
    assert [c["tool"] for c in tool_calls(tickets_log)] == ["create_ticket"]


async def test_each_call_runs_the_tool_exactly_once(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    async with ToolServers([helpdesk_stdio(log=log)]) as servers:
        await servers.call("refund_order", {"id": "A-7"})
        await servers.call("fail", {})

    assert [(c["tool"], c["arguments"]) for c in tool_calls(log)] == [
        ("refund_order", {"id": "A-7"}),
        ("fail", {"message": "the helpdesk is on fire"}),
    ]


async def test_a_stdio_server_sees_its_env_but_not_ours(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STIGMER_TEST_PARENT_SECRET", "hunter2")
    spec = helpdesk_stdio(env={"HELPDESK_TOKEN": "s3cret"}, working_dir=str(tmp_path))
    async with ToolServers([spec]) as servers:
        token = await servers.call("echo_env", {"name": "HELPDESK_TOKEN"})
        parent = await servers.call("echo_env", {"name": "STIGMER_TEST_PARENT_SECRET"})
        path = await servers.call("echo_env", {"name": "PATH"})

    assert token.text == "s3cret"
    assert parent.text == ""
    assert path.text != ""


async def test_an_http_server_gets_the_spec_headers(shared_http_helpdesk: HttpHelpdesk) -> None:
    spec = shared_http_helpdesk.spec(headers={"Authorization": "Bearer t0ken", "X-Tenant": "acme"})
    async with ToolServers([spec]) as servers:
        authorization = await servers.call("echo_header", {"name": "Authorization"})
        tenant = await servers.call("echo_header", {"name": "X-Tenant"})
    assert (authorization.text, tenant.text) == ("Bearer t0ken", "acme")


async def test_the_example_mcp_server_resource_runs_as_written(tmp_path: Path) -> None:
    document = yaml.safe_load(
        (REPO / "examples" / "mcpservers" / "helpdesk.yaml").read_text(encoding="utf-8")
    )
    spec = document["spec"]
    assert spec["stdio"]["command"] == "python"
    server = ServerSpec(
        name=document["metadata"]["name"],
        command=sys.executable,  # "python" on PATH may lack the SDK; this one has it
        args=spec["stdio"]["args"],
        working_dir=str(REPO),  # its args are relative to the repository
        enabled_tools=spec["enabledTools"],
        approval_required=spec["approvalRequired"],
    )
    async with ToolServers([server]) as servers:
        offered = {t.spec.name: t.needs_approval for t in servers.tools()}
        refund = await servers.call("refund_order", {"id": "A-1"})
    assert offered == {"find_order": False, "create_ticket": False, "refund_order": True}
    assert refund.text == "Refund issued for order A-1."
