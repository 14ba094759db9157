"""The Temporal engine as a user runs it: one setting in config.yaml, `stigmer worker` processes,
the same workflow files and the same records; a worker killed with SIGKILL loses nothing."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.engine.temporal.devserver import DevServer, free_port
from tests.fixtures.http_counter import Hits, counting_server
from tests.server.harness import TRUSTING

from .helpers import Stigmer, table, write
from .test_workflow_execute import APPROVAL, EXPECTED, PIPELINE, STEPS_MODULE

# A dead worker's activities go to another one after this long without a heartbeat.
HEARTBEAT = "2"

TINY = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: tiny}
spec:
  inputs: {amount: number}
  tasks: [{name: double, set: {value: "${workflow.inputs.amount * 2}"}}]
  outputs: {value: "${tasks.double.outputs.value}"}
"""

BATCH_STEPS = """
import os
import time
from pathlib import Path


def step(run, name, log, seconds=0.0):
    with Path(log).open("a") as f:
        f.write(f"{run} {name} {os.getpid()}\\n")
    time.sleep(seconds)
    return {"name": name, "run": run}
"""

BATCH = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: batch}
spec:
  inputs: {log: string}
  tasks:
    - name: first
      python: "batchsteps:step"
      inputs: {run: "${workflow.id}", name: first, log: "${workflow.inputs.log}", seconds: 1.0}
    - name: fan
      dependsOn: [first]
      forEach:
        items: "${['a', 'b', 'c']}"
        concurrency: 3
        do:
          name: part
          python: "batchsteps:step"
          inputs: {run: "${workflow.id}", name: "part-${item}", log: "${workflow.inputs.log}", seconds: 1.0}
    - {name: pause, dependsOn: [fan], wait: {duration: 300ms}}
    - name: last
      dependsOn: [pause]
      python: "batchsteps:step"
      inputs: {run: "${workflow.id}", name: last, log: "${workflow.inputs.log}", seconds: 1.0}
  outputs:
    parts: "${tasks.fan.outputs.results.map(r, r.name)}"
    last: "${tasks.last.outputs.name}"
"""


def temporal_home(stigmer: Stigmer, address: str) -> Stigmer:
    """Flip the one setting: this home's executions run on Temporal (a task queue of its own)."""
    stigmer.home.mkdir(parents=True, exist_ok=True)
    config = {
        "engine": "temporal",
        "temporal": {"address": address, "taskQueue": f"t-{uuid.uuid4().hex[:10]}"},
    }
    (stigmer.home / "config.yaml").write_text(yaml.safe_dump(config))
    return stigmer


@pytest.fixture
def on_temporal(stigmer: Stigmer, temporal_server: DevServer) -> Stigmer:
    return temporal_home(stigmer, temporal_server.address)


class Workers:
    """`stigmer worker` processes of one home, stopped (or killed) at the end."""

    def __init__(self, stigmer: Stigmer) -> None:
        self.stigmer = stigmer
        self.processes: list[subprocess.Popen[str]] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        process = self.stigmer.start("worker", *args, env={"STIGMER_TEMPORAL_HEARTBEAT_SECONDS": HEARTBEAT})
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


@pytest.fixture
def workers(stigmer: Stigmer) -> Iterator[Workers]:
    running = Workers(stigmer)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def server() -> Iterator[Hits]:
    with counting_server() as hits:
        yield hits


def _env() -> dict[str, str]:
    return {"STIGMER_TEMPORAL_HEARTBEAT_SECONDS": HEARTBEAT}


def _wait_for(check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_local_mode_never_imports_temporalio(stigmer: Stigmer) -> None:
    write(stigmer.cwd / "tiny.yaml", TINY)
    code = (
        "import sys\n"
        "from stigmer.cli.entry import main\n"
        "for argv in (['version'], ['apply', '-f', 'tiny.yaml'], "
        "['workflow', 'execute', 'tiny', '--input', 'amount=3'], ['execution', 'list']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'temporalio'))\n"
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


def test_a_workflow_runs_on_a_temporal_worker_and_shows_as_on_the_local_engine(
    on_temporal: Stigmer, workers: Workers, server: Hits
) -> None:
    stigmer = on_temporal
    write(stigmer.cwd / "wfsteps.py", STEPS_MODULE)
    stigmer("apply", "-f", write(stigmer.cwd / "pipeline.yaml", PIPELINE))
    workers.start()
    inputs = ["--input", f"url={server.url}", "--input", 'names=["ann", "bob"]', "--input", "log=calls.log"]
    result = stigmer("workflow", "execute", "pipeline", *inputs, env=_env())
    assert yaml.safe_load(result.out) == EXPECTED
    for line in ("prepare: COMPLETED", "alone: SKIPPED", "greet[1]: COMPLETED", "finish: COMPLETED"):
        assert line in result.err
    calls = Counter((stigmer.cwd / "calls.log").read_text().split())
    assert calls == {"prepare": 1, "left": 1, "right": 1, "finish": 1}
    runs = stigmer("execution", "list", "--kind", "workflow", "-o", "json").json()
    assert len(runs) == 1 and runs[0]["status"]["phase"] == "COMPLETED"
    execution_id = runs[0]["metadata"]["id"]
    shown = stigmer("execution", "get", execution_id)
    rows = {r["TASK"]: r for r in table(shown.out.split("\n\n", 1)[1])}
    assert rows["greet"]["PHASE"] == "COMPLETED" and rows["alone"]["PHASE"] == "SKIPPED"
    assert rows["greet[0]"]["NOTE"].startswith("aex_")
    logs = stigmer("execution", "logs", execution_id)
    assert "▶ notify" in logs.err and "■ finish COMPLETED" in logs.err
    children = stigmer("execution", "list", "--parent", execution_id, "-o", "json").json()
    assert sorted(c["status"]["phase"] for c in children) == ["COMPLETED", "COMPLETED"]


def test_a_workflow_runs_on_temporal_with_its_store_on_postgresql(
    on_temporal: Stigmer, workers: Workers, server: Hits, postgres_url: str
) -> None:
    stigmer = on_temporal
    config = yaml.safe_load((stigmer.home / "config.yaml").read_text())
    # The worker on a PostgreSQL store follows a server's policy: these fixtures are allowed.
    config.update(database=postgres_url, server=TRUSTING)
    (stigmer.home / "config.yaml").write_text(yaml.safe_dump(config))
    write(stigmer.cwd / "wfsteps.py", STEPS_MODULE)
    stigmer("apply", "-f", write(stigmer.cwd / "pipeline.yaml", PIPELINE))
    stigmer("apply", "-f", write(stigmer.cwd / "refund.yaml", APPROVAL))
    workers.start()
    inputs = ["--input", f"url={server.url}", "--input", 'names=["ann", "bob"]', "--input", "log=calls.log"]
    result = stigmer("workflow", "execute", "pipeline", *inputs, env=_env())
    assert yaml.safe_load(result.out) == EXPECTED
    calls = Counter((stigmer.cwd / "calls.log").read_text().split())
    assert calls == {"prepare": 1, "left": 1, "right": 1, "finish": 1}
    # A wait for a person, decided from another terminal, on the shared store.
    paused = stigmer("workflow", "execute", "refund", "--input", "amount=30", "--no-wait", env=_env())
    assert "Waiting for approval" in paused.err
    waiting = stigmer("execution", "list", "--phase", "WAITING_APPROVAL", "-o", "json").json()
    approved = stigmer("execution", "approve", waiting[0]["metadata"]["id"], "-o", "json").json()
    assert approved["status"]["phase"] == "COMPLETED"
    assert approved["status"]["outputs"]["paid"] == 30
    status = stigmer("backend", "status", "-o", "json").json()
    assert status["store"] == "postgresql"
    assert status["counts"]["WorkflowExecution"] == 2


def test_an_approval_on_temporal_is_decided_from_another_terminal(
    on_temporal: Stigmer, workers: Workers
) -> None:
    stigmer = on_temporal
    stigmer("apply", "-f", write(stigmer.cwd / "refund.yaml", APPROVAL))
    workers.start()
    paused = stigmer("workflow", "execute", "refund", "--input", "amount=30", "--no-wait", env=_env())
    assert "Waiting for approval" in paused.err
    runs = stigmer("execution", "list", "--phase", "WAITING_APPROVAL", "-o", "json").json()
    execution_id = runs[0]["metadata"]["id"]
    approved = stigmer("execution", "approve", execution_id, "-o", "json")
    record = approved.json()
    assert record["status"]["phase"] == "COMPLETED"
    assert record["status"]["outputs"] == {"paid": 30, "by": record["status"]["outputs"]["by"]}
    rejected_run = stigmer("workflow", "execute", "refund", "--input", "amount=9", "--no-wait", env=_env())
    assert "Waiting for approval" in rejected_run.err
    rejected_id = stigmer("execution", "list", "--phase", "WAITING_APPROVAL", "-o", "json").json()[0]
    rejected = stigmer("execution", "reject", rejected_id["metadata"]["id"], "--reason", "no", check=False)
    assert rejected.code == 1 and "rejected" in rejected.err


def test_an_mcp_servers_question_on_temporal_is_answered_from_another_terminal(
    on_temporal: Stigmer, workers: Workers
) -> None:
    from tests.cli.test_elicitation import ASKER

    stigmer = on_temporal
    asker = f"""
    apiVersion: agentic.stigmer.ai/v1
    kind: McpServer
    metadata: {{name: asker}}
    spec:
      stdio: {{command: "{sys.executable}", args: ["{ASKER}"]}}
      timeout: 1s
    ---
    apiVersion: agentic.stigmer.ai/v1
    kind: Agent
    metadata: {{name: host}}
    spec:
      instructions: Book.
      model:
        provider: scripted
        options:
          script:
            - toolCalls: [{{name: book_table, arguments: {{restaurant: Fika}}}}]
            - echoToolResult: true
      mcpServers: [asker]
    """
    stigmer("apply", "-f", write(stigmer.cwd / "asker.yaml", asker))
    workers.start()
    parked = stigmer("agent", "execute", "host", "Book", "--no-wait", env=_env())
    assert "The run parked, waiting for an answer to what asker asked during book_table" in parked.err
    execution_id = stigmer("execution", "list", "-o", "json").json()[0]["metadata"]["id"]
    answered = stigmer("execution", "respond", execution_id, "--set", "name=Ada", env=_env())
    assert answered.out == "booked Fika for Ada: 2 guests at 19:00, terrace False, budget 0.0\n"


def test_cancel_on_temporal_stops_the_run(on_temporal: Stigmer, workers: Workers) -> None:
    stigmer = on_temporal
    flow = """
    apiVersion: agentic.stigmer.ai/v1
    kind: Workflow
    metadata: {name: sleepy}
    spec:
      tasks: [{name: nap, wait: {duration: 60s}}]
    """
    stigmer("apply", "-f", write(stigmer.cwd / "sleepy.yaml", flow))
    workers.start()
    execution_id = stigmer("workflow", "execute", "sleepy", "--detach", env=_env()).out.strip()

    def started() -> bool:
        record = stigmer("execution", "get", execution_id, "-o", "json").json()
        return bool(record["status"].get("tasks"))

    _wait_for(started)
    stigmer("execution", "cancel", execution_id)

    def cancelled() -> bool:
        record = stigmer("execution", "get", execution_id, "-o", "json").json()
        return bool(record["status"]["phase"] == "CANCELLED")

    _wait_for(cancelled, timeout=30)
    record = stigmer("execution", "get", execution_id, "-o", "json").json()
    assert [t["phase"] for t in record["status"]["tasks"]] == ["CANCELLED"]


def _calls(log: str) -> dict[tuple[str, str], list[int]]:
    """(run, step name) -> the pid of each worker that started it, in order."""
    calls: dict[tuple[str, str], list[int]] = {}
    for line in Path(log).read_text().splitlines():
        run, name, pid = line.split()
        calls.setdefault((run, name), []).append(int(pid))
    return calls


def _ended_tasks(stigmer: Stigmer, ids: list[str]) -> set[tuple[str, str]]:
    """(run, task key) of every task that ended COMPLETED, as the store records it now."""
    from stigmer.backend.local import LocalBackend

    backend = LocalBackend.open(stigmer.database)
    try:
        ended = set()
        for run_id in ids:
            run = backend.get_execution(run_id)
            assert isinstance(run, WorkflowExecution)
            ended |= {(run_id, t.name) for t in run.status.tasks if t.phase == ExecutionPhase.COMPLETED}
        return ended
    finally:
        backend.close()


def test_a_batch_survives_a_worker_killed_mid_run_and_no_completed_task_runs_again(
    on_temporal: Stigmer, workers: Workers
) -> None:
    stigmer = on_temporal
    write(stigmer.cwd / "batchsteps.py", BATCH_STEPS)
    stigmer("apply", "-f", write(stigmer.cwd / "batch.yaml", BATCH))
    doomed = workers.start()
    workers.start()
    log = str(stigmer.cwd / "calls.log")
    ids = [
        stigmer("workflow", "execute", "batch", "--input", f"log={log}", "--detach", env=_env()).out.strip()
        for _ in range(6)
    ]

    def some_done() -> bool:
        return len(_ended_tasks(stigmer, ids)) >= 4

    _wait_for(some_done)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    names = {"first": "first", "fan[0]": "part-a", "fan[1]": "part-b", "fan[2]": "part-c", "last": "last"}
    before = {(run_id, key) for run_id, key in _ended_tasks(stigmer, ids) if key in names}
    calls_before = _calls(log)

    def all_done() -> bool:
        runs = stigmer("execution", "list", "--kind", "workflow", "-o", "json").json()
        return all(r["status"]["phase"] in ("COMPLETED", "FAILED", "CANCELLED") for r in runs)

    _wait_for(all_done, timeout=90)
    runs = {
        r["metadata"]["id"]: r
        for r in stigmer("execution", "list", "--kind", "workflow", "-o", "json").json()
    }
    assert sorted(runs) == sorted(ids)
    for run in runs.values():
        assert run["status"]["phase"] == "COMPLETED", json.dumps(run["status"])[:2000]
        assert run["status"]["outputs"] == {"parts": ["part-a", "part-b", "part-c"], "last": "last"}
    calls = _calls(log)
    for run_id in ids:
        for key, name in names.items():
            pids = calls[(run_id, name)]
            assert pids, (run_id, key)
            if (run_id, key) in before:  # completed before the kill: never ran again
                assert len(pids) == len(calls_before.get((run_id, name), [])) == 1, (run_id, key, pids)
            elif calls_before.get((run_id, name)) == [doomed.pid]:  # in flight at the kill: taken over
                assert pids[-1] != doomed.pid, (run_id, key, pids)
    assert before, "the kill should come after some tasks completed"
    assert len(before) < len(ids) * len(names), "the kill should come before the batch ended"
    assert any(doomed.pid in pids for pids in calls_before.values()), "the killed worker ran tasks"


def test_a_worker_starts_a_dev_server_for_a_local_trial(stigmer: Stigmer, workers: Workers) -> None:
    port = free_port()
    temporal_home(stigmer, f"127.0.0.1:{port}")
    stigmer("apply", "-f", write(stigmer.cwd / "tiny.yaml", TINY))
    worker = workers.start("--temporal", "dev", "--temporal-address", f"127.0.0.1:{port}")

    def listening() -> bool:
        assert worker.poll() is None, "the worker stopped"
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    _wait_for(listening, timeout=30)
    done = stigmer("workflow", "execute", "tiny", "--input", "amount=5", "-o", "json")
    assert done.json()["status"]["outputs"] == {"value": 10}
