"""The wrappers tool sets compose from, on a fake tool set: no server, no SDK."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from stigmer.mcp import McpServerError, Tool, ToolResult
from stigmer.mcp.toolset import ApprovalRequiredToolset, CombinedToolset, FilteredToolset
from stigmer.models.types import ToolSpec

pytestmark = pytest.mark.anyio


class FakeToolset:
    """Tools that answer ``server:tool``, remembering every call that reached them."""

    def __init__(self, name: str, *tool_names: str) -> None:
        self._name = name
        self._tool_names = tool_names
        self.calls: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    def tools(self) -> list[Tool]:
        return [Tool(server=self._name, spec=ToolSpec(name=n)) for n in self._tool_names]

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        self.calls.append(name)
        return ToolResult(f"{self._name}:{name}")


def names(tools: list[Tool]) -> list[str]:
    return [tool.spec.name for tool in tools]


async def test_filtered_offers_only_enabled_tools_and_refuses_the_others() -> None:
    inner = FakeToolset("helpdesk", "find_order", "refund_order", "fail")
    filtered = FilteredToolset(inner, ["refund_order", "find_order"])

    assert names(filtered.tools()) == ["find_order", "refund_order"]  # the server's order
    assert (await filtered.call("find_order", {})).text == "helpdesk:find_order"
    refused = await filtered.call("fail", {})
    assert refused.is_error
    assert "unknown tool 'fail'" in refused.text
    assert "find_order, refund_order" in refused.text
    assert inner.calls == ["find_order"]  # the disabled tool never reached the server


async def test_filtered_rejects_a_name_the_server_does_not_offer() -> None:
    with pytest.raises(McpServerError) as caught:
        FilteredToolset(FakeToolset("helpdesk", "find_order", "refund_order"), ["find_order", "find_orders"])
    message = str(caught.value)
    assert "MCP server 'helpdesk'" in message
    assert "enabledTools names 'find_orders'" in message
    assert "it offers: find_order, refund_order" in message
    assert caught.value.server == "helpdesk"


async def test_approval_required_marks_the_named_tools() -> None:
    marked = ApprovalRequiredToolset(FakeToolset("helpdesk", "find_order", "refund_order"), ["refund_order"])

    assert {t.spec.name: t.needs_approval for t in marked.tools()} == {
        "find_order": False,
        "refund_order": True,
    }
    assert (await marked.call("refund_order", {})).text == "helpdesk:refund_order"


async def test_approval_required_rejects_a_typo_rather_than_leave_a_tool_unguarded() -> None:
    with pytest.raises(McpServerError, match="approvalRequired names 'refund_ordr'"):
        ApprovalRequiredToolset(FakeToolset("helpdesk", "refund_order"), ["refund_ordr"])


async def test_wrappers_compose_approval_is_checked_against_everything_the_server_offers() -> None:
    # refund_order needs approval but is not enabled: fine, it is simply not offered.
    inner = FakeToolset("helpdesk", "find_order", "refund_order")
    toolset = FilteredToolset(ApprovalRequiredToolset(inner, ["refund_order"]), ["find_order"])

    assert [(t.spec.name, t.needs_approval) for t in toolset.tools()] == [("find_order", False)]


async def test_combined_routes_each_call_to_the_set_that_offers_the_tool() -> None:
    helpdesk = FakeToolset("helpdesk", "find_order")
    github = FakeToolset("github", "create_issue")
    combined = CombinedToolset([helpdesk, github])

    assert names(combined.tools()) == ["find_order", "create_issue"]
    assert [t.server for t in combined.tools()] == ["helpdesk", "github"]
    assert (await combined.call("create_issue", {})).text == "github:create_issue"
    unknown = await combined.call("delete_repo", {})
    assert unknown.is_error
    assert "create_issue, find_order" in unknown.text
    assert helpdesk.calls == []


async def test_combined_rejects_a_tool_name_two_servers_offer() -> None:
    with pytest.raises(McpServerError) as caught:
        CombinedToolset([FakeToolset("helpdesk", "search"), FakeToolset("docs", "search")])
    assert "tool 'search' is offered by both MCP servers 'helpdesk' and 'docs'" in str(caught.value)


def test_importing_stigmer_mcp_does_not_import_the_sdk() -> None:
    code = "import sys, stigmer.mcp; print(sorted(m for m in ('mcp', 'httpx2') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
