"""`stigmer mcpserver tools NAME`: a server's live tools, as a user asks for them."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from tests.fixtures.mcp_servers.helpdesk import HELPDESK_SERVER, HELPDESK_TOOLS
from tests.fixtures.mcp_servers.npm import everything_bin, everything_http

from .helpers import Stigmer, table, write

TASK_ONLY = "simulate-research-query"


def _server(stigmer: Stigmer, name: str, spec: dict[str, object]) -> None:
    doc = {
        "apiVersion": "agentic.stigmer.ai/v1",
        "kind": "McpServer",
        "metadata": {"name": name},
        "spec": spec,
    }
    stigmer("apply", "-f", write(stigmer.cwd / f"{name}.yaml", yaml.safe_dump(doc)))


def _helpdesk(stigmer: Stigmer, **spec: object) -> None:
    stdio = {"command": sys.executable, "args": [str(HELPDESK_SERVER)], **spec.pop("stdio", {})}  # type: ignore[dict-item]
    _server(stigmer, "helpdesk", {"stdio": stdio, **spec})


def test_tools_lists_the_live_tools_with_what_stigmer_does_with_each(stigmer: Stigmer) -> None:
    _helpdesk(stigmer, enabledTools=["find_order", "refund_order"], approvalRequired=["refund_order"])
    result = stigmer("mcpserver", "tools", "helpdesk")
    rows = {row["TOOL"]: row for row in table(result.out)}
    assert list(rows) == HELPDESK_TOOLS
    assert rows["find_order"] | {"DESCRIPTION": ""} == {
        "TOOL": "find_order",
        "ENABLED": "yes",
        "APPROVAL": "no",
        "OFFERED": "yes",
        "DESCRIPTION": "",
    }
    assert rows["find_order"]["DESCRIPTION"] == "Look up an order by its id and describe it."
    assert (rows["refund_order"]["APPROVAL"], rows["refund_order"]["OFFERED"]) == ("yes", "yes")
    assert (rows["create_ticket"]["ENABLED"], rows["create_ticket"]["OFFERED"]) == (
        "no",
        "no: not in enabledTools",
    )
    assert result.err == ""

    listed = stigmer("mcpserver", "tools", "helpdesk", "-o", "json").json()
    assert listed["server"] == "helpdesk"
    find = next(t for t in listed["tools"] if t["name"] == "find_order")
    assert find["inputSchema"]["properties"]["id"]["type"] == "string"
    assert find["inputSchema"]["required"] == ["id"]
    assert (find["enabled"], find["approvalRequired"], find["offered"]) == (True, False, True)
    assert yaml.safe_load(stigmer("mcpserver", "tools", "helpdesk", "-o", "yaml").out) == listed


def test_a_typo_in_enabled_tools_is_reported_beside_the_real_names(stigmer: Stigmer) -> None:
    _helpdesk(stigmer, enabledTools=["find_order", "find_orders"], approvalRequired=["refund"])
    result = stigmer("mcpserver", "tools", "helpdesk", "-o", "json")
    assert [t["name"] for t in result.json()["tools"]] == HELPDESK_TOOLS
    assert result.json()["unknownNames"] == {"enabledTools": ["find_orders"], "approvalRequired": ["refund"]}
    assert "enabledTools of 'helpdesk' names find_orders, which the server does not list" in result.err


def test_an_environment_fills_the_servers_secrets(stigmer: Stigmer, tmp_path: Path) -> None:
    _helpdesk(stigmer, stdio={"env": {"HELPDESK_LOG": "${env.LOG}", "TOKEN": "${secrets.TOKEN}"}})
    missing = stigmer("mcpserver", "tools", "helpdesk", check=False)
    assert missing.code == 1
    assert "needs an environment" in missing.err and "--env" in missing.err
    stigmer("env", "create", "dev", "--var", f"LOG={tmp_path / 'calls.log'}", "--secret", "TOKEN=s3cret")
    listed = stigmer("mcpserver", "tools", "helpdesk", "--env", "dev", "-o", "json").json()
    assert [t["name"] for t in listed["tools"]] == HELPDESK_TOOLS


def test_bad_input_says_what_to_do(stigmer: Stigmer) -> None:
    unknown = stigmer("mcpserver", "tools", "nope", check=False)
    assert unknown.code == 1 and "nope" in unknown.err
    _server(stigmer, "broken", {"stdio": {"command": "no-such-command-here"}})
    broken = stigmer("mcpserver", "tools", "broken", check=False)
    assert broken.code == 1
    assert "MCP server 'broken': command 'no-such-command-here' not found" in broken.err
    assert "Traceback" not in broken.err


def test_server_everything_over_stdio_shows_why_a_tool_is_not_offered(stigmer: Stigmer) -> None:
    _server(stigmer, "everything", {"stdio": {"command": str(everything_bin()), "args": ["stdio"]}})
    result = stigmer("mcpserver", "tools", "everything", "-o", "json")
    tools = {t["name"]: t for t in result.json()["tools"]}
    assert {"echo", "get-sum", "get-tiny-image", TASK_ONLY} <= set(tools)
    assert tools["get-sum"]["offered"] is True
    assert tools[TASK_ONLY]["offered"] is False
    assert tools[TASK_ONLY]["taskSupport"] == "required"
    assert "MCP task" in tools[TASK_ONLY]["reason"]
    rows = {row["TOOL"]: row for row in table(stigmer("mcpserver", "tools", "everything").out)}
    assert rows[TASK_ONLY]["OFFERED"].startswith("no: runs only as an MCP task")


def test_server_everything_over_http(stigmer: Stigmer) -> None:
    with everything_http() as server:
        _server(stigmer, "everything", {"http": {"url": server.url}, "enabledTools": ["echo", "get-sum"]})
        listed = yaml.safe_load(stigmer("mcpserver", "tools", "everything", "-o", "yaml").out)
    offered = [t["name"] for t in listed["tools"] if t["offered"]]
    assert offered == ["echo", "get-sum"]
    get_sum = next(t for t in listed["tools"] if t["name"] == "get-sum")
    assert set(get_sum["inputSchema"]["properties"]) == {"a", "b"}


def test_roots_are_offered_to_a_server_that_asks_for_them(stigmer: Stigmer, tmp_path: Path) -> None:
    project = tmp_path / "my project"
    project.mkdir()
    stdio = {"command": str(everything_bin()), "args": ["stdio"]}
    _server(stigmer, "plain", {"stdio": stdio})
    plain = [t["name"] for t in stigmer("mcpserver", "tools", "plain", "-o", "json").json()["tools"]]
    assert "get-roots-list" not in plain  # no roots configured: no roots capability declared
    _server(
        stigmer, "everything", {"stdio": stdio, "roots": [str(project)], "enabledTools": ["get-roots-list"]}
    )
    listed = stigmer("mcpserver", "tools", "everything", "-o", "json").json()["tools"]
    assert "get-roots-list" in [t["name"] for t in listed]
    script = [{"toolCalls": [{"name": "get-roots-list", "arguments": {}}]}, {"echoToolResult": True}]
    agent = {
        "apiVersion": "agentic.stigmer.ai/v1",
        "kind": "Agent",
        "metadata": {"name": "rooted"},
        "spec": {
            "instructions": "List roots.",
            "model": {"provider": "scripted", "options": {"script": script}},
            "mcpServers": ["everything"],
        },
    }
    stigmer("apply", "-f", write(stigmer.cwd / "rooted.yaml", yaml.safe_dump(agent)))
    answer = stigmer("agent", "execute", "rooted", "Which roots?").out
    assert project.as_uri() in answer
    assert "my project" in answer


def test_a_root_that_is_not_a_file_uri_is_refused(stigmer: Stigmer) -> None:
    _server(
        stigmer,
        "web",
        {"stdio": {"command": str(everything_bin()), "args": ["stdio"]}, "roots": ["https://example.org/"]},
    )
    refused = stigmer("mcpserver", "tools", "web", check=False)
    assert refused.code == 2
    assert "is not a file:// URI" in refused.err
