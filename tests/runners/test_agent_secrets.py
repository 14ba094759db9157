"""Secrets in agent runs: substituted where they are needed, masked everywhere they would show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.models.registry import resolve_model
from stigmer.models.types import TextDelta
from stigmer.resources.codec import to_dict
from stigmer.runners.agent.environment import RunEnvironment
from stigmer.runners.agent.events import RunEvent, ToolFinished, ToolStarted
from stigmer.secrets.redaction import Redactor
from tests.builders import environment
from tests.fixtures.mcp_servers.helpdesk import helpdesk_http
from tests.runners.conftest import Runs, calls, helpdesk, scripted

TOKEN = "ghp_live-0123456789abcdef"
PHRASE = "open sesame 4711"  # has spaces: the scripted model streams it in three pieces


@pytest.fixture
def prod(runs: Runs) -> None:
    runs.backend.apply(
        [environment("prod", variables={"HOST": "api.example"}, secrets={"TOKEN": TOKEN, "PHRASE": PHRASE})]
    )


def _everything(run: AgentExecution, runs: Runs, events: list[RunEvent]) -> str:
    steps = [to_dict(s) for s in runs.backend.list_steps(run.metadata.id)]
    return json.dumps([to_dict(run), steps, [repr(e) for e in events]])


def test_the_mcp_server_gets_the_secret_and_no_record_or_event_shows_it(
    runs: Runs, prod: None, tmp_path: Path
) -> None:
    server = helpdesk(runs.log)
    server["stdio"]["env"]["TOKEN"] = "${secrets.TOKEN}"
    runs.agent(
        "leaky",
        model=scripted(
            {"toolCalls": [{"name": "echo_env", "arguments": {"name": "TOKEN"}}]}, {"echoToolResult": True}
        ),
        mcpServers=[server],
    )
    events: list[RunEvent] = []

    done = runs.run("leaky", "What is the token?", events, environment="prod")

    assert done.status.phase == ExecutionPhase.COMPLETED
    # The tool saw the real value (an unset variable echoes ""), the record sees ****.
    assert done.status.output == "****"
    assert [m.content for m in done.status.messages if m.role == "tool"] == ["****"]
    assert [e.text for e in events if isinstance(e, ToolFinished)] == ["****"]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "****"
    assert TOKEN not in _everything(done, runs, events)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert TOKEN.encode() not in raw


def test_a_secret_the_model_writes_is_masked_even_split_across_deltas(runs: Runs, prod: None) -> None:
    runs.agent(
        "chatty",
        model=scripted(
            calls("create_ticket", subject=f"door: {PHRASE}"),
            {"text": f"The phrase is {PHRASE}, twice: {PHRASE}."},
        ),
    )
    events: list[RunEvent] = []

    done = runs.run("chatty", "phrase?", events, environment="prod")

    streamed = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(streamed) == "The phrase is ****, twice: ****."
    assert done.status.output == "The phrase is ****, twice: ****."
    assert [e.arguments for e in events if isinstance(e, ToolStarted)] == [{"subject": "door: ****"}]
    assert done.status.tool_calls[0].arguments["subject"] == "door: ****"
    assert PHRASE not in _everything(done, runs, events)


def test_model_options_get_secrets_and_variables(
    runs: Runs, prod: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []

    def capture(provider: str, name: str, options: dict[str, Any]) -> Any:
        seen.append(options)
        return resolve_model(provider, name, {})

    monkeypatch.setattr("stigmer.runners.agent.runner.resolve_model", capture)
    options = {"apiKey": "${secrets.TOKEN}", "baseUrl": "https://${env.HOST}/v1"}
    runs.agent("keyed", model={"provider": "scripted", "options": options})

    done = runs.run("keyed", "hi", environment="prod")

    assert done.status.phase == ExecutionPhase.COMPLETED
    assert seen == [{"apiKey": TOKEN, "baseUrl": "https://api.example/v1"}]
    assert runs.backend.get_execution(done.metadata.id).spec.environment == "prod"


def test_a_missing_secret_fails_the_run_before_any_work_naming_it(runs: Runs, prod: None) -> None:
    server = helpdesk(runs.log)
    server["stdio"]["env"]["TOKEN"] = "${secrets.GITHUB_TOKEN}"
    runs.agent("needy", model=scripted(calls("find_order", id="A-1")), mcpServers=[server])

    done = runs.run("needy", "hi", environment="prod")

    assert done.status.phase == ExecutionPhase.FAILED
    assert done.status.error.code == "MISSINGREFERENCE"
    assert "environment 'prod' has no secret 'GITHUB_TOKEN'" in done.status.error.message
    assert "mcpServers.helpdesk.env.TOKEN" in done.status.error.message
    assert "stigmer env set prod --secret GITHUB_TOKEN" in done.status.error.message
    assert done.status.usage.model_calls == 0
    assert runs.tool_log() == []


def test_a_reference_in_a_run_without_an_environment_fails_naming_it(runs: Runs) -> None:
    runs.agent("keyed", model={"provider": "scripted", "options": {"apiKey": "${secrets.API_KEY}"}})

    done = runs.run("keyed", "hi")

    assert done.status.phase == ExecutionPhase.FAILED
    assert "${secrets.API_KEY} (in agent spec.model.options.apiKey) needs an environment" in (
        done.status.error.message
    )
    assert done.status.usage.model_calls == 0


def test_a_missing_environment_fails_the_run_naming_it(runs: Runs) -> None:
    runs.agent("bot", model="scripted")

    done = runs.run("bot", "hi", environment="nowhere")

    assert done.status.phase == ExecutionPhase.FAILED
    assert "environment 'nowhere', which does not exist" in done.status.error.message


def test_status_errors_outputs_and_pending_arguments_are_masked() -> None:
    env = RunEnvironment("prod", secrets={"TOKEN": TOKEN}, redactor=Redactor([TOKEN]))
    execution = AgentExecution()
    execution.status.output = f"x {TOKEN}"
    execution.status.outputs.update({"k": [TOKEN]})
    execution.status.error.message = f"server said {TOKEN}"
    execution.status.pending_approval.arguments.update({"a": TOKEN})

    env.redact_status(execution)

    assert TOKEN not in str(execution)
    assert execution.status.error.message == "server said ****"


def test_http_servers_get_secrets_in_headers_and_variables_in_the_url(runs: Runs) -> None:
    with helpdesk_http(log=runs.log) as server:
        host, port = server.url.removeprefix("http://").split("/")[0].split(":")
        runs.backend.apply([environment("prod", variables={"PORT": port}, secrets={"TOKEN": TOKEN})])
        usage = {
            "name": "helpdesk",
            "http": {
                "url": f"http://{host}:${{env.PORT}}/mcp",
                "headers": {"Authorization": "Bearer ${secrets.TOKEN}"},
            },
        }
        answer = {"toolCalls": [{"name": "echo_header", "arguments": {"name": "authorization"}}]}
        runs.agent("caller", model=scripted(answer, {"echoToolResult": True}), mcpServers=[usage])

        done = runs.run("caller", "who am I?", environment="prod")

    assert done.status.phase == ExecutionPhase.COMPLETED, done.status.error
    assert done.status.output == "Bearer ****"
    assert runs.backend.get(Agent, "caller").spec.mcp_servers[0].http.headers["Authorization"] == (
        "Bearer ${secrets.TOKEN}"
    )
