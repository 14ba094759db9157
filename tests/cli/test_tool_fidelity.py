"""Tool calls reach MCP servers as the model meant them: JSON types kept on every pass,
a forced tool choice that lets the agent answer, and token usage that says when it is unknown."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.openai_fake import fake_openai

from .helpers import Stigmer, pending_input, write

PROBE = Path(__file__).resolve().parents[1] / "fixtures" / "mcp_servers" / "probe.py"

ADDER = """
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {{name: adder}}
spec:
  instructions: Add numbers with the tool.
  model:
    provider: scripted
    options:
      script:
        - toolCalls: [{{name: add, arguments: {{a: 2, b: 40, ratio: 0.5, tags: [1, 2]}}}}]
        - echoToolResult: true
  mcpServers:
    - name: probe
      stdio: {{command: {python}, args: [{probe}], env: {{PROBE_LOG: {log}}}}}
"""


def _wire(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line]


def _adder(stigmer: Stigmer) -> Path:
    log = stigmer.cwd / "probe.log"
    text = ADDER.format(python=sys.executable, probe=PROBE, log=log)
    stigmer("apply", "-f", write(stigmer.cwd / "adder.yaml", text))
    return log


def test_yaml_integers_reach_the_server_as_integers_on_the_first_pass(stigmer: Stigmer) -> None:
    log = _adder(stigmer)
    result = stigmer("agent", "execute", "adder", "What is 2 + 40?")
    assert result.out == "42\n"
    (call,) = _wire(log)
    assert call["types"] == {"a": "int", "b": "int"}
    # What the user watched is what the server got.
    shown = next(line for line in result.err.splitlines() if line.startswith("→ add "))
    assert json.loads(shown.removeprefix("→ add ")) == {"a": 2, "b": 40, "ratio": 0.5, "tags": [1, 2]}


def test_yaml_integers_reach_the_server_as_integers_after_a_resume(stigmer: Stigmer) -> None:
    log = _adder(stigmer)
    killed = stigmer(
        "agent",
        "execute",
        "adder",
        "What is 2 + 40?",
        env={"STIGMER_FAULTS": "agent.model_recorded=1"},
        check=False,
    )
    assert killed.code == -signal.SIGKILL
    assert not log.exists()  # the model turn was recorded, the tool not yet called
    execution_id = stigmer("execution", "list", "-o", "json").json()[0]["metadata"]["id"]
    resumed = stigmer("execution", "resume", execution_id)
    assert resumed.out == "42\n"
    (call,) = _wire(log)
    assert call["types"] == {"a": "int", "b": "int"}
    record = stigmer("execution", "get", execution_id, "-o", "json").json()
    assert record["status"]["toolCalls"][0]["arguments"] == {"a": 2, "b": 40, "ratio": 0.5, "tags": [1, 2]}


FORCED = """
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {{name: forced}}
spec:
  instructions: Always add with the tool first.
  model:
    provider: openai
    name: fake-model
    options: {{baseUrl: "{url}", toolChoice: {choice}, maxRetries: 0}}
  mcpServers:
    - name: probe
      stdio: {{command: {python}, args: [{probe}], env: {{PROBE_LOG: {log}}}}}
"""


def _forced(stigmer: Stigmer, url: str, choice: str) -> Path:
    log = stigmer.cwd / "probe.log"
    text = FORCED.format(url=url, choice=choice, python=sys.executable, probe=PROBE, log=log)
    stigmer("apply", "-f", write(stigmer.cwd / "forced.yaml", text))
    return log


@pytest.mark.parametrize("choice", ["add", "required"])
def test_a_forced_tool_choice_holds_until_the_tool_was_called_then_the_agent_answers(
    stigmer: Stigmer, choice: str
) -> None:
    with fake_openai(arguments={"a": 2, "b": 40}, answer="The sum is 42.") as api:
        log = _forced(stigmer, api.url, choice)
        result = stigmer("agent", "execute", "forced", "What is 2 + 40?")
    assert result.out == "The sum is 42.\n"
    assert [call["types"] for call in _wire(log)] == [{"a": "int", "b": "int"}]
    sent = [request.get("tool_choice") for request in api.requests]
    forced = {"type": "function", "function": {"name": "add"}} if choice == "add" else "required"
    assert sent == [forced, "auto"]
    # The provider asks for usage in the stream; this server sends none: unknown, not 0.
    assert all(request["stream_options"] == {"include_usage": True} for request in api.requests)
    assert "tokens unknown" in result.err
    assert "0 in / 0 out" not in result.err
    shown = stigmer("execution", "list", "-o", "json").json()[0]["status"]["usage"]
    assert shown["modelCalls"] == 2 and shown["unreportedModelCalls"] == 2
    assert "inputTokens" not in shown


def test_reported_usage_is_counted(stigmer: Stigmer) -> None:
    with fake_openai(arguments={"a": 1, "b": 1}, send_usage=True) as api:
        _forced(stigmer, api.url, "add")
        result = stigmer("agent", "execute", "forced", "1 + 1?")
    assert "22 in / 6 out tokens" in result.err


SLOW = """
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {{name: waiter}}
spec:
  instructions: Wait.
  model:
    provider: scripted
    options:
      script:
        - toolCalls: [{{name: slow, arguments: {{seconds: 3600}}}}]
        - echoToolResult: true
  mcpServers:
    - name: probe
      stdio: {{command: {python}, args: [{probe}], env: {{PROBE_LOG: {log}}}}}
      timeout: {timeout}
"""


def _events(log: Path, until: str) -> list[str]:
    deadline = time.monotonic() + 30
    while True:
        events = [call["event"] for call in _wire(log)] if log.exists() else []
        if until in events or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def _waiter(stigmer: Stigmer, timeout: str) -> Path:
    log = stigmer.cwd / "probe.log"
    text = SLOW.format(python=sys.executable, probe=PROBE, log=log, timeout=timeout)
    stigmer("apply", "-f", write(stigmer.cwd / "waiter.yaml", text))
    return log


def test_a_tool_call_past_its_timeout_is_cancelled_on_the_server_and_the_run_goes_on(
    stigmer: Stigmer,
) -> None:
    log = _waiter(stigmer, "1s")
    # The tool would take an hour, past this test's own timeout: the run must not wait for it.
    result = stigmer("agent", "execute", "waiter", "Wait an hour")
    assert result.out == "tool slow timed out after 1s\n"
    assert _events(log, "slow.cancelled") == ["slow.start", "slow.cancelled"]


def test_cancelling_a_run_cancels_its_tool_call_on_the_server(stigmer: Stigmer) -> None:
    log = _waiter(stigmer, "2h")
    running = stigmer.start("agent", "execute", "waiter", "Wait an hour")
    try:
        assert _events(log, "slow.start") == ["slow.start"]
        execution_id = stigmer("execution", "list", "-o", "json").json()[0]["metadata"]["id"]
        stigmer("execution", "cancel", execution_id)
        _, err = running.communicate(timeout=60)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 1, err
    assert "cancelled during slow" in err
    assert _events(log, "slow.cancelled") == ["slow.start", "slow.cancelled"]
    record = stigmer("execution", "get", execution_id, "-o", "json").json()
    assert record["status"]["phase"] == "CANCELLED"


SAMPLER = """
apiVersion: agentic.stigmer.ai/v1
kind: McpServer
metadata: {{name: everything}}
spec:
  stdio: {{command: {everything}, args: [stdio]}}
  enabledTools: [trigger-sampling-request]
  {sampling}
---
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {{name: sampled}}
spec:
  instructions: Use the tool.
  model:
    provider: openai
    name: fake-model
    options: {{baseUrl: "{url}", toolChoice: trigger-sampling-request, maxRetries: 0}}
  mcpServers: [everything]
"""


def test_a_server_may_sample_the_agents_own_model_when_its_mcpserver_allows_it(stigmer: Stigmer) -> None:
    from tests.fixtures.mcp_servers.npm import everything_bin

    arguments = {"prompt": "Name a colour.", "maxTokens": 20}
    with fake_openai(arguments=arguments, answer="Teal.") as api:
        text = SAMPLER.format(everything=everything_bin(), sampling="sampling: allow", url=api.url)
        stigmer("apply", "-f", write(stigmer.cwd / "sampled.yaml", text))
        result = stigmer("agent", "execute", "sampled", "Ask the server")
    assert result.out == "Teal.\n"
    # Three requests reached the model: the turn calling the tool, the server's sampling
    # request (its system prompt and message, no tools), and the final turn.
    sampling = api.requests[1]
    assert "tools" not in sampling
    assert sampling["messages"][0] == {"role": "system", "content": "You are a helpful test server."}
    assert "Name a colour." in sampling["messages"][1]["content"]
    assert sampling["max_tokens"] == 20
    # The server got the model's answer (the tool result the agent read).
    assert '"text": "Teal."' in result.err and "fake-model" in result.err


def test_by_default_a_person_approves_a_sampling_request_before_the_model_answers(
    stigmer: Stigmer,
) -> None:
    from tests.fixtures.mcp_servers.npm import everything_bin

    arguments = {"prompt": "Name a colour.", "maxTokens": 20}
    with fake_openai(arguments=arguments, answer="Teal.") as api:
        text = SAMPLER.format(everything=everything_bin(), sampling="", url=api.url)
        stigmer("apply", "-f", write(stigmer.cwd / "sampled.yaml", text))
        running = stigmer.start("agent", "execute", "sampled", "Ask the server")
        try:
            run = pending_input(stigmer)
            asked = run["status"]["pendingInput"]
            assert (asked["kind"], asked["tool"], asked["server"]) == (
                "sampling",
                "trigger-sampling-request",
                "everything",
            )
            assert "system: You are a helpful test server." in asked["message"]
            assert "Name a colour." in asked["message"] and asked["maxTokens"] == 20
            assert len(api.requests) == 1  # the model has not been asked for the server yet
            approved = stigmer("execution", "approve", run["metadata"]["id"], "--detach")
            assert "approved everything's sampling request (during trigger-sampling-request)" in approved.err
            out, err = running.communicate(timeout=60)
        finally:
            if running.poll() is None:
                running.kill()
    assert out == "Teal.\n", err
    assert "everything asks the agent's model (during trigger-sampling-request)" in err
    assert "stigmer execution approve" in err
    assert len(api.requests) == 3 and "tools" not in api.requests[1]


def test_a_rejected_sampling_request_is_refused_to_the_server_after_the_run_parked(
    stigmer: Stigmer,
) -> None:
    from tests.fixtures.mcp_servers.npm import everything_bin

    arguments = {"prompt": "Name a colour.", "maxTokens": 20}
    with fake_openai(arguments=arguments, answer="It said no.") as api:
        setting = "sampling: ask\n  timeout: 1s"  # held open 1s, then the run parks
        text = SAMPLER.format(everything=everything_bin(), sampling=setting, url=api.url)
        stigmer("apply", "-f", write(stigmer.cwd / "sampled.yaml", text))
        parked = stigmer("agent", "execute", "sampled", "Ask", "--no-wait")
        assert "The run parked, waiting for a decision on what everything asked" in parked.err
        execution_id = stigmer("execution", "list", "-o", "json").json()[0]["metadata"]["id"]
        answer = stigmer("execution", "respond", execution_id, check=False)
        assert answer.code == 1 and "waits for an approval, not for an answer" in answer.err
        rejected = stigmer("execution", "reject", execution_id, "--reason", "not now")
    assert rejected.out == "It said no.\n"
    # The model was never asked for the server: only the agent's two turns reached it.
    assert len(api.requests) == 2
    (call,) = stigmer("execution", "get", execution_id, "-o", "json").json()["status"]["toolCalls"]
    assert call["isError"] and "rejected the sampling request" in call["result"]


def test_sampling_is_off_when_denied(stigmer: Stigmer) -> None:
    from tests.fixtures.mcp_servers.npm import everything_bin

    text = SAMPLER.format(everything=everything_bin(), sampling="sampling: deny", url="http://127.0.0.1:9/v1")
    stigmer("apply", "-f", write(stigmer.cwd / "sampled.yaml", text))
    refused = stigmer("agent", "execute", "sampled", "Ask", check=False)
    assert refused.code == 1
    assert "enabledTools names 'trigger-sampling-request', which the server does not offer" in refused.err
    bad = stigmer(
        "apply",
        "-f",
        write(stigmer.cwd / "bad.yaml", text.replace("sampling: deny", "sampling: maybe")),
        check=False,
    )
    assert bad.code == 2 and "spec.sampling" in bad.err
