"""Running agents in-process against a real store, with the scripted model."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.backend.protocol import Backend
from stigmer.engine.local import run_claimed
from stigmer.runners.agent.events import RunEvent
from stigmer.runners.settings import RunSettings
from tests.builders import agent
from tests.clock import FakeClock

if TYPE_CHECKING:
    from tests.runners.flows import Flows

ROOT = Path(__file__).resolve().parents[2]
HELPDESK = ROOT / "examples" / "mcpservers" / "helpdesk_server.py"
WORKER = "tests:1:runner"


def scripted(*turns: dict[str, Any]) -> dict[str, Any]:
    """A scripted model whose turns are ``turns``."""
    return {"provider": "scripted", "options": {"script": list(turns)}}


def calls(name: str, **arguments: Any) -> dict[str, Any]:
    """A scripted turn that calls one tool."""
    return {"toolCalls": [{"name": name, "arguments": arguments}]}


def helpdesk(log: Path, **usage: Any) -> dict[str, Any]:
    """The example helpdesk MCP server, inline, over stdio, logging each call to ``log``."""
    return {
        "name": "helpdesk",
        "stdio": {"command": sys.executable, "args": [str(HELPDESK)], "env": {"HELPDESK_LOG": str(log)}},
        **usage,
    }


@dataclass
class Runs:
    """Start and run executions of agents in one backend."""

    backend: Backend
    tmp_path: Path

    def agent(self, name: str, **spec: Any) -> None:
        self.backend.apply([agent(name, **spec)])

    def create(self, name: str, message: str, **spec: Any) -> str:
        execution = AgentExecution()
        execution.spec.agent = name
        execution.spec.message = message
        for key, value in spec.items():
            setattr(execution.spec, key, value)
        return self.backend.create_execution(execution).metadata.id

    def resume(self, execution_id: str, events: list[RunEvent] | None = None) -> AgentExecution:
        sink = events.append if events is not None else (lambda _: None)
        asyncio.run(run_claimed(self.backend, execution_id, worker_id=WORKER, on_event=sink))
        found = self.backend.get_execution(execution_id)
        assert isinstance(found, AgentExecution)
        return found

    def run(
        self, name: str, message: str, events: list[RunEvent] | None = None, **spec: Any
    ) -> AgentExecution:
        return self.resume(self.create(name, message, **spec), events)

    @property
    def log(self) -> Path:
        return self.tmp_path / "helpdesk.log"

    def tool_log(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def runs(backend: Backend, tmp_path: Path) -> Runs:
    return Runs(backend, tmp_path)


@pytest.fixture(params=["local", "temporal"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run_settings() -> RunSettings:
    """What the engines of ``flows`` run with (a test module overrides it for prices or telemetry)."""
    return RunSettings()


@pytest.fixture
def flows(
    engine: str,
    backend: Backend,
    backend_type: str,
    tmp_path: Path,
    clock: FakeClock,
    run_settings: RunSettings,
    request: pytest.FixtureRequest,
) -> Iterator[Flows]:
    """Workflows run by ``engine``: this process (local), or a Temporal worker on a real dev server."""
    # Imported here: tests.runners.flows imports this module.
    from tests.fixtures.temporal import DevServer, worker_backend
    from tests.runners.flows import Flows, TemporalFlows

    if engine == "local":
        yield Flows(backend, tmp_path, run_settings)
        return
    server: DevServer = request.getfixturevalue("temporal_server")
    harness = TemporalFlows(
        backend,
        tmp_path,
        server.address,
        worker_backend(backend, backend_type, tmp_path, clock),
        run_settings,
    )
    try:
        yield harness
    finally:
        harness.close()
