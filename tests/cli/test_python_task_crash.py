"""A python task is journalled once, when it ends: a crash before that re-runs its attempt,
and never an attempt that ended."""

from __future__ import annotations

import signal
from typing import Any

from .helpers import Stigmer, write

STEPS = """
from pathlib import Path


def flaky(counter, fail_times):
    path = Path(counter)
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls <= fail_times:
        raise RuntimeError(f"call {calls} fails on purpose")
    return {"calls": calls}


def add(a, b):
    return {"sum": a + b}
"""

FLOW = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: steps}
spec:
  inputs: {counter: string}
  tasks:
    - {name: first, python: "pysteps:add", inputs: {a: 1, b: 2}}
    - name: flaky
      dependsOn: [first]
      python: "pysteps:flaky"
      inputs: {counter: "${workflow.inputs.counter}", fail_times: 1}
      retry: {maxAttempts: 3, backoff: {initial: 10ms}}
    - name: last
      dependsOn: [flaky]
      python: "pysteps:add"
      inputs: {a: "${tasks.flaky.outputs.calls}", b: 10}
  outputs: {sum: "${tasks.last.outputs.sum}"}
"""


def _run(stigmer: Stigmer) -> dict[str, Any]:
    runs: list[dict[str, Any]] = stigmer("execution", "list", "--kind", "workflow", "-o", "json").json()
    return runs[0]


def test_a_chain_of_python_tasks_records_one_step_per_attempt(stigmer: Stigmer) -> None:
    write(stigmer.cwd / "pysteps.py", STEPS)
    stigmer("apply", "-f", write(stigmer.cwd / "steps.yaml", FLOW))
    counter = stigmer.cwd / "flaky.count"
    done = stigmer("workflow", "execute", "steps", "--input", f"counter={counter}", "-o", "json").json()
    assert done["status"]["outputs"] == {"sum": 12}
    tasks = {t["name"]: t for t in done["status"]["tasks"]}
    assert tasks["flaky"]["attempts"] == 2
    steps = stigmer("execution", "logs", done["metadata"]["id"], "-o", "json").json()
    # first; flaky's failed attempt and its second one; last: one journal step each.
    assert len(steps) == 4


def test_a_crash_in_a_retried_python_task_resumes_that_attempt(stigmer: Stigmer) -> None:
    write(stigmer.cwd / "pysteps.py", STEPS)
    stigmer("apply", "-f", write(stigmer.cwd / "steps.yaml", FLOW))
    counter = stigmer.cwd / "flaky.count"
    # Attempts begin: first (1), flaky's first attempt (2), flaky's second attempt (3): killed
    # as it begins, after the first attempt's failure was journalled.
    killed = stigmer(
        "workflow", "execute", "steps", "--input", f"counter={counter}",
        env={"STIGMER_FAULTS": "workflow.task_started=3"}, check=False,
    )  # fmt: skip
    assert killed.code == -signal.SIGKILL
    assert counter.read_text() == "1"
    run = _run(stigmer)
    assert run["status"]["phase"] == "RUNNING"

    resumed = stigmer("execution", "resume", run["metadata"]["id"], "-o", "json").json()
    assert resumed["status"]["outputs"] == {"sum": 12}
    tasks = {t["name"]: t for t in resumed["status"]["tasks"]}
    # The resumed run goes on with the second attempt (not a fresh first one), and the
    # completed first task did not run again.
    assert tasks["flaky"]["attempts"] == 2
    assert counter.read_text() == "2"
    assert tasks["first"]["outputs"] == {"sum": 3}
