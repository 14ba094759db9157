"""OpenTelemetry from the terminal: the standard OTEL_* variables or `telemetry:` in config.yaml
turn it on; a run killed mid-way and resumed by another process is still one trace; off, not
even the package is imported."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.fixtures.otlp import Received, otlp_receiver

from .helpers import Stigmer, table, write
from .test_agent_execute import FIND_THEN_ANSWER, _agent_yaml


@pytest.fixture
def receiver() -> Iterator[Received]:
    with otlp_receiver() as received:
        yield received


def test_a_run_killed_and_resumed_elsewhere_is_one_trace(stigmer: Stigmer, receiver: Received) -> None:
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
    log = stigmer.cwd / "tools.log"
    stigmer("apply", "-f", write(stigmer.cwd / "a.json", _agent_yaml("orders", FIND_THEN_ANSWER, log)))
    killed = stigmer(
        "agent",
        "execute",
        "orders",
        "Where is A-1?",
        env={**otel, "STIGMER_FAULTS": "agent.tool_recorded=1"},
        check=False,
    )
    assert killed.code == -signal.SIGKILL
    assert receiver.requests == 0  # the run had not finished: nothing to export yet
    (run,) = table(stigmer("execution", "list").out)
    stigmer("execution", "resume", run["ID"], env=otel)
    # The resuming process exported the whole run as it left, before it exited.
    assert len(receiver.spans) == 6
    assert len({s.trace_id for s in receiver.spans}) == 1
    assert len({s.span_id for s in receiver.spans}) == 6
    (root,) = [s for s in receiver.spans if not s.parent_id]
    assert (root.name, root.attributes["stigmer.execution.id"]) == ("invoke_agent orders", run["ID"])
    steps = sorted((s for s in receiver.spans if s.parent_id == root.span_id), key=lambda s: s.start_ns)
    assert [s.name for s in steps] == [
        "chat scripted",
        "execute_tool find_order",
        "chat scripted",
        "execute_tool create_ticket",
        "chat scripted",
    ]
    # The steps recorded before the kill are there, once, with the times they ran at.
    assert steps[0].start_ns >= root.start_ns and steps[-1].end_ns <= root.end_ns


def test_telemetry_in_config_yaml_turns_it_on(stigmer: Stigmer, receiver: Received) -> None:
    stigmer("init")
    settings = f"telemetry:\n  endpoint: {receiver.url}\n  serviceName: orders-team\n"
    write(stigmer.home / "config.yaml", f"backend: local\n{settings}")
    stigmer("agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted")
    stigmer("agent", "execute", "echo", "hi")
    assert {s.name for s in receiver.spans} == {"invoke_agent echo", "chat scripted"}
    assert {s.resource["service.name"] for s in receiver.spans} == {"orders-team"}


def test_a_malformed_telemetry_setting_is_refused(stigmer: Stigmer) -> None:
    stigmer("init")
    write(stigmer.home / "config.yaml", "backend: local\ntelemetry:\n  endpiont: http://127.0.0.1:4318\n")
    stigmer("agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted")
    result = stigmer("agent", "execute", "echo", "hi", check=False)
    assert result.code == 2
    assert "telemetry.endpiont" in result.err and "endpoint" in result.err


def test_with_telemetry_off_opentelemetry_is_never_imported(stigmer: Stigmer) -> None:
    stigmer("agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted")
    code = (
        "import sys\n"
        "from stigmer.cli.entry import main\n"
        "for argv in (['version'], ['agent', 'execute', 'echo', 'hi'], ['execution', 'list']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'opentelemetry'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=stigmer.env(),
        cwd=stigmer.cwd,
        check=True,
        timeout=60,
    )
    assert "— COMPLETED" in result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
