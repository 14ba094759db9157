"""Workflow engine: per-task overhead of ``set`` tasks, and trivial workflows per second.

1. **Per-task overhead.** Workflows of N ``set`` tasks (N = 100, 1,000 and 10,000 by
   default), applied to a LocalBackend on a temporary file, each execution run in-process
   through ``run_claimed`` (claim, lease heartbeat, journal, status writes and release as
   in production) and checked: COMPLETED, one step per task, the right output.

   - **chain**: ``t0`` sets ``v: 0``; ``t{i}`` depends on ``t{i-1}`` and sets
     ``v: ${tasks.t{i-1}.outputs.v + 1}`` (one CEL expression per task); the workflow's
     output is the last ``v`` (N - 1).
   - **fan-out**: N independent tasks ``t{i}`` set the constant ``v: i`` (no expression),
     then one join task depends on all of them and sets ``v: ${tasks.t{N-1}.outputs.v + 1}``;
     the output is the join's ``v`` (N).

   Per task = run time / tasks in the workflow (N; N + 1 for the fan-out), fixed costs
   included; marginal = (run time - the run time of a one-task workflow) / tasks. From the
   end times the journal recorded, also the time per task over the first and the last
   10 % of the tasks, which shows whether a task costs more late in a long run. A run that
   outlasts ``--max-run-seconds`` is cut there (cancelled, as a stopping server would):
   it is reported with the tasks it finished and marked as cut.

   **Baseline**, measured in the same run on the same filesystem: one durable commit, a raw
   ``sqlite3`` connection in WAL mode with ``PRAGMA synchronous=FULL`` inserting one small
   row per transaction (``BEGIN IMMEDIATE``, ``INSERT``, ``COMMIT``). The same with
   ``synchronous=NORMAL``, the store's setting (WAL does not sync the log at commit then),
   is shown as a reference. A ``set`` task's completion is one journal step, one write
   transaction. **Goal** (issue #5): a chain task costs at most 2 commits' time.

   Diagnostics: one run of each shape at 1,000 with ``record_step``, ``expressions.evaluate``
   and the SQL statements metered, and one chain of 1,000 under cProfile.

2. **Workflows per second.** ``stigmer.engine.local.Worker`` draining a queue of K trivial
   workflows (one ``set`` task), at concurrency 1, 2 (``stigmer worker``'s default) and 4,
   with the Worker's default poll interval (what ``stigmer worker`` and the server use) and,
   as a diagnostic, a 0.01 s poll; each in a fresh database, timed from ``Worker.run`` to the
   last completion (the stop event is set then). A drain is cut at ``--drain-seconds``.
   Reference: the same queue run by ``run_claimed`` calls one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import inspect
import pstats
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

if not __package__:  # run as a script (python bench/bench_workflow.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import (
    Stats,
    fmt_ms,
    log,
    md_table,
    settle,
    stats,
    stats_dict,
    time_calls,
    write_results,
)
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.local import LocalBackend
from stigmer.engine import local as engine
from stigmer.resources import expressions
from stigmer.resources.decode import decode
from stigmer.resources.documents import Document
from stigmer.resources.kinds import API_VERSION, Execution
from stigmer.resources.steps import output_of

GOAL_COMMITS_PER_CHAIN_TASK = 2.0
WORKER = "bench:1:workflow"
ACTOR = "local:bench"
SHAPES = ("chain", "fan-out")
TRIVIAL = "bench-trivial"
SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
DIAGNOSTIC_SIZE = 1000


# -- workflows ------------------------------------------------------------------------------


def chain_tasks(n: int) -> list[dict[str, Any]]:
    """t0 sets v: 0; each next task depends on the previous one and adds 1 to its v."""
    tasks: list[dict[str, Any]] = [{"name": "t0", "set": {"v": 0}}]
    tasks += [
        {"name": f"t{i}", "dependsOn": [f"t{i - 1}"], "set": {"v": f"${{tasks.t{i - 1}.outputs.v + 1}}"}}
        for i in range(1, n)
    ]
    return tasks


def fan_out_tasks(n: int) -> list[dict[str, Any]]:
    """N independent constant tasks, then a join that depends on all of them."""
    tasks: list[dict[str, Any]] = [{"name": f"t{i}", "set": {"v": i}} for i in range(n)]
    tasks.append(
        {
            "name": "join",
            "dependsOn": [f"t{i}" for i in range(n)],
            "set": {"v": f"${{tasks.t{n - 1}.outputs.v + 1}}"},
        }
    )
    return tasks


@dataclass(frozen=True)
class Shape:
    """One workflow to run: its name, task count, and the output a correct run ends with."""

    kind: str
    size: int

    @property
    def name(self) -> str:
        return f"bench-{self.kind}-{self.size}"

    @property
    def tasks(self) -> int:
        return self.size + 1 if self.kind == "fan-out" else self.size

    @property
    def expected(self) -> int:
        return self.size if self.kind == "fan-out" else self.size - 1

    def document(self) -> dict[str, Any]:
        if self.kind == "chain":
            tasks, last = chain_tasks(self.size), f"t{self.size - 1}"
        else:
            tasks, last = fan_out_tasks(self.size), "join"
        return workflow_doc(self.name, tasks, {"v": f"${{tasks.{last}.outputs.v}}"})


def workflow_doc(name: str, tasks: list[dict[str, Any]], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"tasks": tasks}
    if outputs:
        spec["outputs"] = outputs
    return {"apiVersion": API_VERSION, "kind": "Workflow", "metadata": {"name": name}, "spec": spec}


def trivial_doc() -> dict[str, Any]:
    return workflow_doc(TRIVIAL, [{"name": "greet", "set": {"greeting": "hello"}}])


def apply_docs(backend: LocalBackend, docs: list[dict[str, Any]]) -> None:
    backend.apply([decode(Document("bench", i + 1, doc)) for i, doc in enumerate(docs)])


def new_execution(backend: LocalBackend, workflow: str) -> str:
    execution = WorkflowExecution()
    execution.spec.workflow = workflow
    return backend.create_execution(execution).metadata.id


# -- 1. per-task overhead ---------------------------------------------------------------------


@dataclass
class Run:
    """One execution: wall time, tasks finished, and the per-task pace at its start and end."""

    seconds: float
    tasks_done: int
    complete: bool
    head_ms_per_task: float
    tail_ms_per_task: float


def _pace(end_times_ns: list[int]) -> tuple[float, float]:
    """ms per task over the first and the last 10 % of the tasks, from their recorded end times."""
    if len(end_times_ns) < 2:
        return float("nan"), float("nan")
    k = max(len(end_times_ns) // 10, 1)
    head = (end_times_ns[k] - end_times_ns[0]) / k / 1e6
    tail = (end_times_ns[-1] - end_times_ns[-1 - k]) / k / 1e6
    return head, tail


async def _run_claimed(
    backend: LocalBackend, execution_id: str, limit: float | None, profiler: cProfile.Profile | None
) -> tuple[float, bool]:
    if profiler is not None:
        profiler.enable()
    start = time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            await engine.run_claimed(backend, execution_id, worker_id=WORKER)
        return time.perf_counter() - start, True
    except TimeoutError:
        return time.perf_counter() - start, False
    finally:
        if profiler is not None:
            profiler.disable()


def run_once(
    backend: LocalBackend, shape: Shape, limit: float | None, profiler: cProfile.Profile | None = None
) -> Run:
    """One execution of ``shape``, checked (unless cut at ``limit`` seconds)."""
    execution_id = new_execution(backend, shape.name)
    elapsed, complete = asyncio.run(_run_claimed(backend, execution_id, limit, profiler))
    steps = backend.list_steps(execution_id)
    ends = sorted((s for s in steps if s.name.startswith("end:")), key=lambda s: s.step)
    if complete:
        done = backend.get_execution(execution_id)
        if done.status.phase != ExecutionPhase.COMPLETED:
            phase = ExecutionPhase.Name(done.status.phase)
            raise RuntimeError(f"{shape.name}: {phase}: {done.status.error.message}")
        value = dict(done.status.outputs).get("v")
        if value != shape.expected or len(steps) != shape.tasks or len(ends) != shape.tasks:
            raise RuntimeError(
                f"{shape.name}: output v={value!r} (expected {shape.expected}), {len(steps)} steps, "
                f"{len(ends)} task ends (expected {shape.tasks})"
            )
    head, tail = _pace([s.end_time.ToNanoseconds() for s in ends])
    return Run(elapsed, len(ends), complete, head, tail)


def commit_baseline(tmp: Path, commits: int) -> dict[str, list[float]]:
    """One small row per write transaction on a raw WAL connection, FULL and NORMAL interleaved."""
    conns: dict[str, sqlite3.Connection] = {}
    for sync in ("FULL", "NORMAL"):
        conn = sqlite3.connect(tmp / f"commit-{sync.lower()}.db", isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {sync}")
        conn.execute("CREATE TABLE steps (id INTEGER PRIMARY KEY, execution_id TEXT, step INTEGER, output TEXT)")
        conns[sync] = conn
    counter = iter(range(1, 10**9))

    def committer(conn: sqlite3.Connection) -> Callable[[], None]:
        def commit() -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO steps (execution_id, step, output) VALUES (?, ?, ?)",
                ("wex_bench", next(counter), '{"phase":"COMPLETED","outputs":{"v":1}}'),
            )
            conn.execute("COMMIT")

        return commit

    samples: dict[str, list[float]] = {sync: [] for sync in conns}
    try:
        for sync, conn in conns.items():
            time_calls(committer(conn), runs=0, warmups=max(commits // 10, 5))
        for _ in range(commits):  # interleaved, so drift hits both alike
            for sync, conn in conns.items():
                samples[sync] += time_calls(committer(conn), runs=1)
    finally:
        for conn in conns.values():
            conn.close()
    return samples


class Meter:
    """Seconds and calls per category, summed over one execution."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] += seconds
        self.calls[name] += 1

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - start)

        return timed


class TimedConnection:
    """A sqlite3 connection whose execute() is metered by statement verb."""

    def __init__(self, conn: sqlite3.Connection, meter: Meter) -> None:
        self._conn = conn
        self._meter = meter

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        start = time.perf_counter()
        try:
            return self._conn.execute(sql, params)
        finally:
            self._meter.add(f"sql {sql.lstrip().split(None, 1)[0].upper()}", time.perf_counter() - start)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@contextmanager
def metered(backend: LocalBackend, meter: Meter) -> Iterator[None]:
    """Meter record_step, expressions.evaluate and the SQL statements for the duration."""
    module = cast(Any, expressions)
    evaluate, conn = module.evaluate, backend.db.conn
    backend.record_step = meter.wrap("backend.record_step", backend.record_step)  # type: ignore[method-assign]
    module.evaluate = meter.wrap("expressions.evaluate", evaluate)
    backend.db.conn = cast(sqlite3.Connection, TimedConnection(conn, meter))
    try:
        yield
    finally:
        del backend.record_step
        module.evaluate = evaluate
        backend.db.conn = conn


def breakdown(backend: LocalBackend, shape: Shape) -> dict[str, Any]:
    """One metered run of ``shape``: seconds and calls per category."""
    meter = Meter()
    with metered(backend, meter):
        run = run_once(backend, shape, None)
    return {"seconds": run.seconds, "tasks": shape.tasks, "meter": dict(meter.seconds), "calls": dict(meter.calls)}


def _label(filename: str, line: int, func: str) -> str:
    if not line:
        return func
    parts = Path(filename).parts
    return f"{func} ({'/'.join(parts[-2:])}:{line})"


def profile(backend: LocalBackend, shape: Shape, top: int) -> dict[str, Any]:
    """cProfile one run: the top ``top`` by cumulative time (below the event-loop wrappers), and by self time.

    Diagnostic: cProfile inflates Python calls, so the shares matter, not the times.
    """
    profiler = cProfile.Profile()
    run = run_once(backend, shape, None, profiler)
    st = pstats.Stats(profiler)
    entries = cast(dict[tuple[str, int, str], tuple[int, int, float, float, Any]], st.stats)  # type: ignore[attr-defined]
    total = max(v[3] for v in entries.values())  # the outermost frame's cumulative time
    wrappers = 0.98 * total  # asyncio.run, the event loop, run_claimed, run_execution ...

    def rows(key: int, limit: float) -> list[dict[str, Any]]:
        ranked = sorted(entries.items(), key=lambda kv: kv[1][key], reverse=True)
        picked = [(k, v) for k, v in ranked if v[key] < limit][:top]
        return [
            {
                "function": _label(*k),
                "calls": v[1],
                "calls_per_task": v[1] / shape.tasks,
                "ms_per_task": v[key] * 1000 / shape.tasks,
                "share": v[key] / total,
            }
            for k, v in picked
        ]

    return {
        "shape": shape.kind,
        "size": shape.size,
        "run_s_under_profile": run.seconds,
        "total_s": total,
        "cumulative": rows(3, wrappers),
        "self_time": rows(2, float("inf")),
    }


def measure_tasks(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    backend = LocalBackend.open(tmp / "local.db", actor=ACTOR)
    shapes = [Shape(kind, size) for size in args.sizes for kind in SHAPES]
    try:
        sync = SYNC_NAMES.get(int(backend.db.conn.execute("PRAGMA synchronous").fetchone()[0]), "?")
        log("workflow: applying the workflows")
        apply_docs(backend, [trivial_doc(), *(s.document() for s in shapes)])
        trivial = Shape("trivial", 1)
        for warm in (Shape("chain", 100), Shape("fan-out", 100)):
            if warm in shapes:
                run_once(backend, warm, None)
        fixed = [_trivial_run(backend) for _ in range(args.fixed_runs + 2)][2:]
        settle()
        runs: dict[Shape, list[Run]] = {s: [] for s in shapes}
        for size in args.sizes:
            spent: dict[Shape, float] = defaultdict(float)
            for round_no in range(args.runs):  # interleaved round by round, so drift hits both alike
                for shape in (s for s in shapes if s.size == size):
                    if runs[shape] and (spent[shape] >= args.budget or not runs[shape][-1].complete):
                        continue
                    run = run_once(backend, shape, args.max_run_seconds)
                    runs[shape].append(run)
                    spent[shape] += run.seconds
                    cut = "" if run.complete else f" (cut after {run.tasks_done} tasks)"
                    log(f"workflow: {shape.name} round {round_no + 1}: {run.seconds:.2f} s{cut}")
        diagnostic = {}
        if args.diagnostics:
            log("workflow: diagnostics (metered runs, cProfile)")
            for kind in SHAPES:
                diagnostic[kind] = breakdown(backend, Shape(kind, DIAGNOSTIC_SIZE))
        prof = profile(backend, Shape("chain", DIAGNOSTIC_SIZE), args.profile_top) if args.diagnostics else None
        del trivial
    finally:
        backend.close()
    commits = commit_baseline(tmp, args.commits)
    return {"store_synchronous": sync, "fixed": fixed, "runs": runs, "commits": commits,
            "diagnostic": diagnostic, "profile": prof}
