"""An agent on `@modelcontextprotocol/server-everything` (a server nobody here wrote) uses every
tool that server offers it, over stdio and over streamable HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.fixtures.mcp_servers.npm import everything_bin, everything_http

from .helpers import Stigmer, pending_input, write

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
    # These two ask a person mid-call (MCP elicitation): the test answers from "another terminal".
    "trigger-elicitation-request": {},
    "trigger-url-elicitation": {"url": "https://example.org/confirm", "message": "Confirm there."},
    # This one asks for the agent's model, which a person approves first (sampling: ask).
    "trigger-sampling-request": {"prompt": "Name a colour.", "maxTokens": 20},
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
    running = stigmer.start("agent", "execute", "explorer", "Go")
    try:
        form = pending_input(stigmer)
        execution_id = form["metadata"]["id"]
        asked = form["status"]["pendingInput"]
        assert asked["tool"] == "trigger-elicitation-request" and asked["requestedSchema"]["required"] == [
            "name"
        ]
        stigmer("execution", "respond", execution_id, "--set", "name=Ada", "--set", "integer=7", "--detach")
        page = pending_input(stigmer, after_step=int(asked["step"]))["status"]["pendingInput"]
        assert page["tool"] == "trigger-url-elicitation" and page["url"] == "https://example.org/confirm"
        stigmer("execution", "respond", execution_id, "--detach")
        sampling = pending_input(stigmer, after_step=int(page["step"]))["status"]["pendingInput"]
        assert (sampling["kind"], sampling["tool"]) == ("sampling", "trigger-sampling-request")
        stigmer("execution", "approve", execution_id, "--detach")
        out, err = running.communicate(timeout=120)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 0, err
    assert out == "Tried them all.\n"
    calls = stigmer("execution", "get", execution_id, "-o", "json").json()["status"]["toolCalls"]
    assert [c["name"] for c in calls] == list(CALLS)
    failed = {c["name"]: c.get("result", "") for c in calls if c.get("isError")}
    assert failed == {}
    results = {c["name"]: c.get("result", "") for c in calls}
    assert results["echo"] == "Echo: hello"
    assert "42" in results["get-sum"]
    assert "image/png" in results["get-tiny-image"]
    assert tmp_path.as_uri() in results["get-roots-list"]
    # The server got the typed answer with its schema's defaults (SEP-1034), and the URL consent.
    form_result = results["trigger-elicitation-request"]
    assert "- Name: Ada" in form_result and "- Favorite Integer: 7" in form_result
    assert '"untitledSingleSelectEnum": "Monica"' in form_result and '"number": 3.14' in form_result
    assert '"action": "accept"' in results["trigger-url-elicitation"]
    assert '"model": "scripted"' in results["trigger-sampling-request"]
