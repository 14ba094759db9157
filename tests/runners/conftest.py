"""Running agents in-process against a real store, with the scripted model."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.backend.protocol import Backend
from stigmer.engine.local import run_claimed
from stigmer.runners.agent.events import RunEvent
from tests.builders import agent

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
