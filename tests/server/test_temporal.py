"""`stigmer server --engine temporal`: clients use the server as before; the server hands
their runs to Temporal, whose workers (the one inside the server here) run them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from stigmer.engine.temporal.devserver import DevServer
from tests.cli.test_temporal import temporal_home
from tests.server.conftest import create_key, logged_in, server_home
from tests.server.harness import ServerProcess
from tests.server.test_cli import FLOW


@pytest.fixture
def on_temporal(tmp_path: Path, temporal_server: DevServer) -> Iterator[tuple[ServerProcess, str]]:
    home = temporal_home(server_home(tmp_path), temporal_server.address)
    key = create_key(home, "admin")
    server = ServerProcess(home, "--engine", "temporal", env={"STIGMER_TEMPORAL_HEARTBEAT_SECONDS": "2"})
    try:
        yield server.start(), key
    finally:
        server.stop()


def test_a_remote_user_runs_a_workflow_on_temporal_through_the_server(
    on_temporal: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, key = on_temporal
    assert "Temporal at 127.0.0.1:" in server.output()
    client = logged_in(tmp_path, server, key)
    (client.cwd / "flow.yaml").write_text(FLOW)
    client("apply", "-f", "flow.yaml")
    paused = client("workflow", "execute", "greet-and-check", "--input", "who=ann", "--no-wait")
    assert "greet: COMPLETED" in paused.err and "Waiting for approval" in paused.err
    runs = client("execution", "list", "--kind", "workflow", "-o", "json").json()
    execution_id = runs[0]["metadata"]["id"]
    assert runs[0]["status"]["phase"] == "WAITING_APPROVAL"
    approved = client("execution", "approve", execution_id)
    assert yaml.safe_load(approved.out) == {"sent": "echo: hello ann"}
    assert "send: COMPLETED" in approved.err and "— COMPLETED" in approved.err
    record = server.home("execution", "get", execution_id, "-o", "json").json()
    assert record["status"]["outputs"] == {"sent": "echo: hello ann"}
    assert [t["name"] for t in record["status"]["tasks"]] == ["greet", "check", "send"]
