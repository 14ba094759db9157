"""An agent on `@modelcontextprotocol/server-everything` (a server nobody here wrote) uses every
tool that server offers it, over stdio and over streamable HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.fixtures.mcp_servers.npm import everything_bin, everything_http

from .helpers import Stigmer, write

CALLS: dict[str, dict[str, Any]] = {
    "echo": {"message": "hello"},
    "get-annotated-message": {"messageType": "success", "includeImage": True},
    "get-env": {},
    "get-resource-links": {"count": 2},
    "get-resource-reference": {"resourceType": "Text", "resourceId": 1},
    "get-structured-content": {"location": "Chicago"},
    "get-sum": {"a": 2, "b": 40},
    "get-tiny-image": {},
    "gzip-file-as-resource": {
        "name": "hello.gz",
        "data": "data:text/plain;base64,aGVsbG8=",
        "outputType": "resource",
    },
    "toggle-simulated-logging": {},
    "toggle-subscriber-updates": {},
    "trigger-long-running-operation": {"duration": 1, "steps": 2},
    "get-roots-list": {},
}


@pytest.fixture(params=["stdio", "http"])
def transport(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    if request.param == "stdio":
        yield {"stdio": {"command": str(everything_bin()), "args": ["stdio"]}}
        return
    with everything_http() as server:
        yield {"http": {"url": server.url}}


def test_an_agent_uses_every_tool_server_everything_offers(
    stigmer: Stigmer, transport: dict[str, Any], tmp_path: Any
) -> None:
    server = {**transport, "roots": [str(tmp_path)]}
    docs = [
        {
            "apiVersion": "agentic.stigmer.ai/v1",
            "kind": "McpServer",
            "metadata": {"name": "everything"},
            "spec": server,
        },
        {
            "apiVersion": "agentic.stigmer.ai/v1",
            "kind": "Agent",
            "metadata": {"name": "explorer"},
            "spec": {
                "instructions": "Try every tool.",
                "model": {
                    "provider": "scripted",
                    "options": {
                        "script": [
                            {
                                "toolCalls": [
                                    {"name": name, "arguments": args} for name, args in CALLS.items()
                                ]
                            },
                            {"text": "Tried them all."},
                        ]
                    },
                },
                "mcpServers": ["everything"],
            },
        },
    ]
    stigmer("apply", "-f", write(stigmer.cwd / "everything.yaml", yaml.safe_dump_all(docs)))
    offered = {
        t["name"]
        for t in stigmer("mcpserver", "tools", "everything", "-o", "json").json()["tools"]
        if t["offered"]
    }
    assert offered == set(CALLS)  # every tool it offers is called below
    result = stigmer("agent", "execute", "explorer", "Go")
    assert result.out == "Tried them all.\n"
    execution_id = stigmer("execution", "list", "-o", "json").json()[0]["metadata"]["id"]
    calls = stigmer("execution", "get", execution_id, "-o", "json").json()["status"]["toolCalls"]
    assert [c["name"] for c in calls] == list(CALLS)
    failed = {c["name"]: c.get("result", "") for c in calls if c.get("isError")}
    assert failed == {}
    results = {c["name"]: c.get("result", "") for c in calls}
    assert results["echo"] == "Echo: hello"
    assert "42" in results["get-sum"]
    assert "image/png" in results["get-tiny-image"]
    assert tmp_path.as_uri() in results["get-roots-list"]
