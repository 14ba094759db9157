"""`stigmer workflow execute` as a user runs it: inputs, the live table, approvals from a
second terminal, and a worker killed with SIGKILL at several points (the run resumes and
no completed task runs again)."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.http_counter import Hits, counting_server

from .helpers import Stigmer, table, write

STEPS_MODULE = """
from pathlib import Path


def record(name, log):
    with Path(log).open("a") as f:
        f.write(name + "\\n")
    return {"name": name}
"""

PIPELINE = """
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {name: shouter}
spec: {instructions: Repeat what you are told., model: scripted}
---
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: pipeline}
spec:
  inputs:
    url: string
    names: array
    log: string
  tasks:
    - {name: prepare, python: "wfsteps:record", inputs: {name: prepare, log: "${workflow.inputs.log}"}}
    - name: left
      dependsOn: [prepare]
      python: "wfsteps:record"
      inputs: {name: left, log: "${workflow.inputs.log}"}
    - name: right
      dependsOn: [prepare]
      python: "wfsteps:record"
      inputs: {name: right, log: "${workflow.inputs.log}"}
    - name: route
      switch:
        cases: [{when: "length(workflow.inputs.names) > 1", then: [greet]}]
        default: [alone]
    - name: greet
      forEach:
        items: "${workflow.inputs.names}"
        do: {name: hello, agent: shouter, message: "hi ${item}"}
    - {name: alone, set: {note: nobody}}
    - name: notify
      dependsOn: [left, right, greet, alone]
      http:
        method: POST
        url: "${workflow.inputs.url}/notify"
        body: {greetings: "${tasks.greet.outputs.results}"}
    - {name: pause, dependsOn: [notify], wait: {duration: 300ms}}
    - name: finish
      dependsOn: [pause]
      python: "wfsteps:record"
      inputs: {name: finish, log: "${workflow.inputs.log}"}
  outputs:
    greetings: "${tasks.greet.outputs.results}"
    status: "${tasks.notify.outputs.status}"
    finished: "${tasks.finish.outputs.name}"
"""

EXPECTED = {
    "greetings": [{"output": "echo: hi ann"}, {"output": "echo: hi bob"}],
    "status": 201,
    "finished": "finish",
}


@pytest.fixture
def server() -> Iterator[Hits]:
    with counting_server() as hits:
        yield hits


@pytest.fixture
def pipeline(stigmer: Stigmer) -> Stigmer:
    write(stigmer.cwd / "wfsteps.py", STEPS_MODULE)
    stigmer("apply", "-f", write(stigmer.cwd / "pipeline.yaml", PIPELINE))
    return stigmer


def _inputs(stigmer: Stigmer, server: Hits, log: str) -> list[str]:
    return [
        "--input",
        f"url={server.url}",
        "--input",
        'names=["ann", "bob"]',
        "--input",
        f"log={stigmer.cwd / log}",
    ]


def _latest(stigmer: Stigmer) -> dict[str, Any]:
    runs: list[dict[str, Any]] = stigmer("execution", "list", "--kind", "workflow", "-o", "json").json()
    return runs[0]


def _calls(stigmer: Stigmer, log: str) -> Counter[str]:
    path = stigmer.cwd / log
    return Counter(path.read_text().split()) if path.exists() else Counter()


def test_a_run_shows_its_tasks_and_prints_its_outputs(pipeline: Stigmer, server: Hits) -> None:
    result = pipeline("workflow", "execute", "pipeline", *_inputs(pipeline, server, "calls.log"))
    import yaml

    assert yaml.safe_load(result.out) == EXPECTED
    # Not a terminal: each task change is one line on stderr.
    for line in ("prepare: COMPLETED", "alone: SKIPPED", "greet[1]: COMPLETED", "finish: COMPLETED"):
        assert line in result.err
    assert "— COMPLETED" in result.err
    assert _calls(pipeline, "calls.log") == {"prepare": 1, "left": 1, "right": 1, "finish": 1}
    assert len(server.requests) == 1
    execution_id = _latest(pipeline)["metadata"]["id"]
    shown = pipeline("execution", "get", execution_id)
    rows = {r["TASK"]: r for r in table(shown.out.split("\n\n", 1)[1])}
    assert rows["greet"]["PHASE"] == "COMPLETED" and rows["alone"]["PHASE"] == "SKIPPED"
    assert rows["greet[0]"]["NOTE"].startswith("aex_")
    record = pipeline("execution", "get", execution_id, "-o", "json").json()
    assert record["status"]["outputs"] == EXPECTED


def test_bad_inputs_are_refused_before_anything_runs(pipeline: Stigmer, server: Hits) -> None:
    missing = pipeline("workflow", "execute", "pipeline", "--input", f"url={server.url}", check=False)
    assert missing.code == 2
    assert "missing inputs 'log', 'names'" in missing.err
    assert "--input log=VALUE --input names=VALUE" in missing.err
    wrong = pipeline(
        "workflow", "execute", "pipeline", *_inputs(pipeline, server, "x.log")[:2], "--input", "names=ann",
        "--input", "log=x", check=False,
    )  # fmt: skip
    assert wrong.code == 2 and "input 'names' must be an array" in wrong.err
    assert pipeline("execution", "list", "-o", "json").json() == []


@pytest.mark.parametrize(
    "fault",
    [
        "workflow.task_recorded=1",  # the switch decided
        "workflow.task_recorded=3",  # a branch done, the other maybe in flight
        "workflow.task_started=4",  # a forEach item's child agent created
        "agent.model_recorded=1",  # inside a child agent run
        "workflow.task_recorded=9",  # after the http call
        "workflow.task_started=8",  # the wait started: its deadline survives
    ],
)
def test_a_worker_killed_mid_run_is_resumed_without_repeating_completed_tasks(
    pipeline: Stigmer, server: Hits, fault: str
) -> None:
    killed = pipeline(
        "workflow", "execute", "pipeline", *_inputs(pipeline, server, "calls.log"),
        env={"STIGMER_FAULTS": fault}, check=False,
    )  # fmt: skip
    assert killed.code == -signal.SIGKILL, killed
    execution_id = _latest(pipeline)["metadata"]["id"]
    run = pipeline("execution", "get", execution_id, "-o", "json").json()
    assert run["status"]["phase"] == "RUNNING"
    before = _calls(pipeline, "calls.log")
    done_before = {t["name"] for t in run["status"].get("tasks", []) if t["phase"] == "COMPLETED"}
    assert done_before, "the fault should hit after some task completed"

    resumed = pipeline("execution", "resume", execution_id, "-o", "json")
    assert resumed.json()["status"]["outputs"] == EXPECTED
    # A task completed before the crash never runs again; one in flight at the crash runs again.
    after = _calls(pipeline, "calls.log")
    for name in ("prepare", "left", "right", "finish"):
        assert after[name] >= 1
        if name in done_before:
            assert after[name] == before[name] == 1, (name, before, after)
    assert len(set(server.keys())) == 1  # one http attempt, however often it was sent
    if "notify" in done_before:
        assert len(server.requests) == 1
    children = pipeline("execution", "list", "--parent", execution_id, "-o", "json").json()
    assert sorted(c["status"]["phase"] for c in children) == ["COMPLETED", "COMPLETED"]


def test_an_http_call_in_flight_at_a_crash_is_sent_again_with_the_same_idempotency_key(
    stigmer: Stigmer, server: Hits
) -> None:
    flow = f"""
    apiVersion: agentic.stigmer.ai/v1
    kind: Workflow
    metadata: {{name: hook}}
    spec:
      tasks:
        - {{name: post, http: {{method: POST, url: "{server.url}/hook", body: {{n: 1}}}}}}
      outputs: {{status: "${{tasks.post.outputs.status}}"}}
    """
    stigmer("apply", "-f", write(stigmer.cwd / "hook.yaml", flow))
    killed = stigmer(
        "workflow", "execute", "hook", env={"STIGMER_FAULTS": "workflow.task_executed=1"}, check=False
    )
    assert killed.code == -signal.SIGKILL
    execution_id = _latest(stigmer)["metadata"]["id"]
    # A worker (not the CLI) takes the run over.
    worker = stigmer.start("worker")
    try:
        deadline = time.monotonic() + 30
        while _latest(stigmer)["status"]["phase"] != "COMPLETED" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=30)
    assert _latest(stigmer)["status"]["outputs"] == {"status": 201}
    assert server.keys() == [f"{execution_id}/post/1", f"{execution_id}/post/1"]


APPROVAL = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: refund}
spec:
  inputs: {amount: number}
  tasks:
    - {name: check, set: {amount: "${workflow.inputs.amount}"}}
    - name: ok
      dependsOn: [check]
      approval: {message: "Refund ${tasks.check.outputs.amount} EUR?"}
    - {name: pay, dependsOn: [ok], set: {paid: "${tasks.check.outputs.amount}"}}
  outputs: {paid: "${tasks.pay.outputs.paid}", by: "${tasks.ok.outputs.by}"}
"""


def test_an_approval_decided_from_a_second_terminal_continues_the_first(stigmer: Stigmer) -> None:
    stigmer("apply", "-f", write(stigmer.cwd / "refund.yaml", APPROVAL))
    waiting = stigmer.start("workflow", "execute", "refund", "--input", "amount=30", "-o", "json")
    try:
        deadline = time.monotonic() + 30
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = stigmer("execution", "list", "--phase", "WAITING_APPROVAL", "-o", "json").json()
            if runs:
                break
            time.sleep(0.2)
        assert runs, "the run never reached its approval"
        execution_id = runs[0]["metadata"]["id"]
        shown = stigmer("execution", "get", execution_id)
        assert "WAITING_APPROVAL" in shown.out
        stigmer("execution", "approve", execution_id, "--detach")
        out, err = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 0, err
    assert "Waiting for approval" in err
    record = json.loads(out)
    assert record["status"]["phase"] == "COMPLETED"
    assert record["status"]["outputs"]["paid"] == 30


def test_reject_fails_the_run_and_says_why(stigmer: Stigmer) -> None:
    stigmer("apply", "-f", write(stigmer.cwd / "refund.yaml", APPROVAL))
    paused = stigmer("workflow", "execute", "refund", "--input", "amount=30", "--no-wait")
    assert paused.code == 0 and "Waiting for approval" in paused.err
    execution_id = _latest(stigmer)["metadata"]["id"]
    rejected = stigmer("execution", "reject", execution_id, "--reason", "not eligible", check=False)
    assert rejected.code == 1
    assert "rejected" in rejected.err and "not eligible" in rejected.err
    assert _latest(stigmer)["status"]["phase"] == "FAILED"


def test_detach_queues_the_run_for_a_worker(stigmer: Stigmer) -> None:
    stigmer(
        "apply", "-f", write(stigmer.cwd / "refund.yaml", APPROVAL.replace("approval: {message", "set: {m"))
    )
    execution_id = stigmer("workflow", "execute", "refund", "--input", "amount=5", "--detach").out.strip()
    assert execution_id.startswith("wex_")
    assert _latest(stigmer)["status"]["phase"] == "PENDING"


def test_graph_prints_text_and_mermaid(pipeline: Stigmer) -> None:
    text = pipeline("workflow", "graph", "pipeline").out
    assert "notify" in text and "after left, right, greet, alone" in text
    assert "greet" in text and "route (length(workflow.inputs.names) > 1)" in text
    mermaid = pipeline("workflow", "graph", "pipeline", "-o", "mermaid").out
    assert mermaid.startswith("flowchart TD")
    assert '-- "default" -->' in mermaid


FLAKY = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: flaky}
spec:
  tasks:
    - {name: costly, python: "wfsteps:record", inputs: {name: costly, log: calls.log}}
    - {name: fragile, dependsOn: [costly], python: "wfsteps:fail_once", inputs: {marker: failed.once}}
  outputs: {first: "${tasks.costly.outputs.name}", then: "${tasks.fragile.outputs.ok}"}
"""

FAIL_ONCE = """

def fail_once(marker):
    if not Path(marker).exists():
        Path(marker).write_text("x")
        raise RuntimeError("the first call fails")
    return {"ok": True}
"""


def test_retry_continues_a_failed_run_without_running_its_completed_tasks_again(stigmer: Stigmer) -> None:
    write(stigmer.cwd / "wfsteps.py", STEPS_MODULE + FAIL_ONCE)
    stigmer("apply", "-f", write(stigmer.cwd / "flaky.yaml", FLAKY))
    failed = stigmer("workflow", "execute", "flaky", check=False)
    assert failed.code == 1 and "the first call fails" in failed.err
    execution_id = _latest(stigmer)["metadata"]["id"]
    retried = stigmer("execution", "retry", execution_id, "-o", "json")
    record = retried.json()
    assert record["status"]["phase"] == "COMPLETED"
    assert record["status"]["outputs"] == {"first": "costly", "then": True}
    assert record["spec"]["retryOf"] == execution_id
    assert _calls(stigmer, "calls.log") == {"costly": 1}
    running = stigmer("execution", "retry", "wex_nope", check=False)
    assert running.code == 1 and "not found" in running.err
