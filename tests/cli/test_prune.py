"""`stigmer execution prune` and the `retention` setting wherever a worker runs (`stigmer worker`,
`stigmer server`, `stigmer ui`), through the real CLI."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime

import pytest

from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.local import PRUNE_BATCH, LocalBackend
from tests.builders import agent, agent_execution
from tests.clock import FakeClock

from .helpers import Stigmer, write

KILLED = -signal.SIGKILL


def _old_runs(stigmer: Stigmer, n: int = 1) -> list[str]:
    """``n`` completed runs of the agent `bot`, each with one step, that finished in 2020."""
    backend = LocalBackend.open(stigmer.database, clock=FakeClock(datetime(2020, 1, 1, tzinfo=UTC)))
    try:
        backend.apply([agent("bot", model="scripted")])
        ids = []
        for _ in range(n):
            run = backend.create_execution(agent_execution("bot"))
            claimed = backend.claim_execution("old-worker", execution_id=run.metadata.id)
            assert claimed is not None
            step = ExecutionStep(execution_id=run.metadata.id, step=1, name="model")
            backend.record_step(step, worker_id="old-worker")
            claimed.status.phase = ExecutionPhase.COMPLETED
            backend.update_execution_status(claimed, worker_id="old-worker")
            ids.append(run.metadata.id)
        return ids
    finally:
        backend.close()


def _ids(stigmer: Stigmer) -> set[str]:
    listed = stigmer("execution", "list", "--limit", "10000", "-o", "json").json()
    return {run["metadata"]["id"] for run in listed}


def test_prune_deletes_finished_runs_older_than_the_age(stigmer: Stigmer) -> None:
    (old,) = _old_runs(stigmer)
    stigmer("agent", "execute", "bot", "Just now")
    recent = _ids(stigmer) - {old}

    preview = stigmer("execution", "prune", "--older-than", "30d", "--dry-run")

    assert preview.out == f"{old}\n"
    assert preview.err.startswith("Would delete 1 execution (1 AgentExecution) that finished before ")
    assert preview.err.endswith(", with 1 step and 0 artifacts.\n")
    assert _ids(stigmer) == {old, *recent}

    pruned = stigmer("execution", "prune", "--older-than", "30d")

    assert pruned.out.startswith("Deleted 1 execution (1 AgentExecution) that finished before ")
    assert _ids(stigmer) == recent
    again = stigmer("execution", "prune", "--older-than", "30d", "-o", "json").json()
    assert (again["deleted"], again["executionIds"], again["steps"], again["dryRun"]) == ({}, [], 0, False)


def test_prune_reports_json_and_yaml(stigmer: Stigmer) -> None:
    (old,) = _old_runs(stigmer)

    as_yaml = stigmer(
        "execution", "prune", "--older-than", "1d12h", "--kind", "agent", "--dry-run", "-o", "yaml"
    )
    as_json = stigmer(
        "execution", "prune", "--older-than", "1d12h", "--kind", "workflow", "-o", "json"
    ).json()

    assert f"executionIds:\n- {old}\n" in as_yaml.out
    assert "dryRun: true\n" in as_yaml.out
    assert as_json["deleted"] == {}
    assert as_json["cutoff"].endswith("Z")
    assert _ids(stigmer) == {old}


@pytest.mark.parametrize("age", ["30days", "soon", "0s", "250ms", ""])
def test_a_bad_age_is_a_usage_error(stigmer: Stigmer, age: str) -> None:
    result = stigmer("execution", "prune", "--older-than", age, check=False)

    assert result.code == 2
    assert f"Error: --older-than: invalid age {age!r}" in result.err
    assert "Hint: write e.g. 30d, 12h, 1d12h or 90m" in result.err
    assert not stigmer.database.exists()


def test_the_age_is_required(stigmer: Stigmer) -> None:
    result = stigmer("execution", "prune", check=False)

    assert result.code == 2
    assert "Missing option '--older-than'" in result.err


def test_a_crash_between_batches_leaves_whole_batches(stigmer: Stigmer) -> None:
    old = _old_runs(stigmer, PRUNE_BATCH + 20)

    crashed = stigmer(
        "execution",
        "prune",
        "--older-than",
        "30d",
        env={"STIGMER_FAULTS": "prune.batch_committed=1"},
        check=False,
    )

    assert crashed.code == KILLED
    left = old[PRUNE_BATCH:]
    assert _ids(stigmer) == set(left)
    with closing(sqlite3.connect(stigmer.database)) as conn:
        stepped = {r[0] for r in conn.execute("SELECT execution_id FROM execution_steps")}
        history = {
            r[0]
            for r in conn.execute(
                "SELECT resource_id FROM api_resource_versions WHERE resource_kind = 'AgentExecution'"
            )
        }
    assert stepped == history == set(left)

    stigmer("execution", "prune", "--older-than", "30d")

    assert _ids(stigmer) == set()


def _wait_for(predicate: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_the_worker_applies_the_retention_setting_at_start(stigmer: Stigmer) -> None:
    _old_runs(stigmer)
    write(stigmer.home / "config.yaml", "backend: local\nretention: 30d\n")

    worker = stigmer.start("worker")
    try:
        gone = _wait_for(lambda: _ids(stigmer) == set())
    finally:
        worker.send_signal(signal.SIGINT)
        _, err = worker.communicate(timeout=30)

    assert gone, err
    assert worker.returncode == 0
    assert "retention: pruned 1 execution that finished before " in err


def test_stigmer_retention_overrides_the_config(stigmer: Stigmer) -> None:
    _old_runs(stigmer)
    write(stigmer.home / "config.yaml", "backend: local\nretention: 100000d\n")

    worker = stigmer.start("worker", env={"STIGMER_RETENTION": "30d"})
    try:
        gone = _wait_for(lambda: _ids(stigmer) == set())
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=30)

    assert gone


def test_a_bad_retention_setting_stops_the_worker_at_once(stigmer: Stigmer) -> None:
    write(stigmer.home / "config.yaml", "backend: local\nretention: a month\n")

    result = stigmer("worker", check=False)

    assert result.code == 2
    assert f"{stigmer.home / 'config.yaml'}: retention: invalid age 'a month'" in result.err


def test_a_server_with_a_retention_setting_prunes_beside_its_worker(stigmer: Stigmer) -> None:
    _old_runs(stigmer)
    write(stigmer.home / "config.yaml", "backend: local\nretention: 30d\n")

    server = stigmer.start("server", "--port", "0")
    try:
        gone = _wait_for(lambda: _ids(stigmer) == set())
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)

    assert gone, err
    assert server.returncode == 0
    assert "beside the worker: retention" in err
    assert "retention: pruned 1 execution that finished before " in err


def test_a_server_without_a_worker_leaves_retention_to_the_workers(stigmer: Stigmer) -> None:
    (old,) = _old_runs(stigmer)
    write(stigmer.home / "config.yaml", "backend: local\nretention: 30d\n")

    server = stigmer.start("server", "--port", "0", "--no-worker")
    try:
        assert server.stderr is not None
        started = [server.stderr.readline() for _ in range(5)]  # listening, database, TLS, worker, keys
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)

    assert "listening on" in started[0]
    assert started[3] == "  worker:   off (--no-worker)\n"
    assert "retention" not in "".join(started) + err
    assert _ids(stigmer) == {old}  # a host that runs retention prunes once before it stops


def test_the_dashboard_with_its_worker_prunes_too(stigmer: Stigmer) -> None:
    _old_runs(stigmer)
    write(stigmer.home / "config.yaml", "backend: local\nretention: 30d\n")

    ui = stigmer.start("ui", "--port", "0")
    try:
        gone = _wait_for(lambda: _ids(stigmer) == set())
    finally:
        ui.send_signal(signal.SIGINT)
        _, err = ui.communicate(timeout=30)

    assert gone, err
    assert ui.returncode == 0
    assert "retention: pruned 1 execution that finished before " in err
