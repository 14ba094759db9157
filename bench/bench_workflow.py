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
   - **python-chain**: the chain with ``python`` tasks: ``t{i}`` calls a plain synchronous
     function of this module with ``v: ${tasks.t{i-1}.outputs.v}``, which returns ``v + 1``
     (what a ``@task`` function's step costs through the engine).

   Per task = run time / tasks in the workflow (N; N + 1 for the fan-out), fixed costs
   included; marginal = (run time - the run time of a one-task workflow) / tasks. From the
   end times the journal recorded: the time before the first task ends (claim, loading and
   checking the workflow, the graph), the pace per task (overall, and over the first and
   the last 10 % of the tasks: does a task cost more late in a long run?) and the time
   after the last task. A run that outlasts ``--max-run-seconds`` is cut there (cancelled,
   as a stopping server would): it is reported with the tasks it finished, marked as cut.
   The timed runs share one process, so they find every expression compiled already; one
   more run of each chain empties the expression compiler's cache first (**cold**), as
   ``stigmer workflow execute`` runs a workflow once in a new process.

   **Baseline**, measured in the same run on the same filesystem: one durable commit, a raw
   ``sqlite3`` connection in WAL mode with ``PRAGMA synchronous=FULL`` inserting one small
   row per transaction (``BEGIN IMMEDIATE``, ``INSERT``, ``COMMIT``). The same with
   ``synchronous=NORMAL`` (WAL does not sync the log at commit then) is shown as a reference;
   the store runs at the ``durability`` setting (``full`` by default), reported with the
   results. A ``set`` task's completion is one journal step, one write transaction.
   **Goal** (issue #5): a chain task costs at most 2 commits' time.

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
from stigmer.store.connection import SqliteConnection
from stigmer.store.database import Database

GOAL_COMMITS_PER_CHAIN_TASK = 2.0
WORKER = "bench:1:workflow"
ACTOR = "local:bench"
SHAPES = ("chain", "fan-out", "python-chain")
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


def add_one(v: int) -> dict[str, int]:
    """The python-chain's step."""
    return {"v": v + 1}


def python_chain_tasks(n: int) -> list[dict[str, Any]]:
    """t0 calls add_one with v: -1; each next task passes the previous one's v on."""
    target = "bench.bench_workflow:add_one"
    tasks: list[dict[str, Any]] = [{"name": "t0", "python": target, "inputs": {"v": -1}}]
    tasks += [
        {
            "name": f"t{i}",
            "dependsOn": [f"t{i - 1}"],
            "python": target,
            "inputs": {"v": f"${{tasks.t{i - 1}.outputs.v}}"},
        }
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
        elif self.kind == "python-chain":
            tasks, last = python_chain_tasks(self.size), f"t{self.size - 1}"
        else:
            tasks, last = fan_out_tasks(self.size), "join"
        return workflow_doc(self.name, tasks, {"v": f"${{tasks.{last}.outputs.v}}"})


def workflow_doc(
    name: str, tasks: list[dict[str, Any]], outputs: dict[str, Any] | None = None
) -> dict[str, Any]:
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
    """One execution: wall time, tasks finished, and where the time went (from the journal's end times)."""

    seconds: float
    tasks_done: int
    complete: bool
    lead_ms: float  # start of run_claimed to the first task's end: claim, load, check, graph, first task
    pace_ms_per_task: float  # first task's end to the last one's, per task
    head_ms_per_task: float  # the same over the first 10 % of the tasks
    tail_ms_per_task: float  # ... and over the last 10 %
    trail_ms: float  # the last task's end to the end of run_claimed: outputs, finish, release


def _timeline(started_ns: int, seconds: float, ends_ns: list[int]) -> dict[str, float]:
    """Lead, pace (overall, first and last 10 %) and trail in ms, from the tasks' end times."""
    nan = float("nan")
    if not ends_ns:
        return {
            "lead_ms": nan,
            "pace_ms_per_task": nan,
            "head_ms_per_task": nan,
            "tail_ms_per_task": nan,
            "trail_ms": nan,
        }
    k = max(len(ends_ns) // 10, 1)
    many = len(ends_ns) > k
    return {
        "lead_ms": (ends_ns[0] - started_ns) / 1e6,
        "pace_ms_per_task": (ends_ns[-1] - ends_ns[0]) / (len(ends_ns) - 1) / 1e6 if many else nan,
        "head_ms_per_task": (ends_ns[k] - ends_ns[0]) / k / 1e6 if many else nan,
        "tail_ms_per_task": (ends_ns[-1] - ends_ns[-1 - k]) / k / 1e6 if many else nan,
        "trail_ms": (started_ns + seconds * 1e9 - ends_ns[-1]) / 1e6,
    }


async def _run_claimed(
    backend: LocalBackend, execution_id: str, limit: float | None, profiler: cProfile.Profile | None
) -> tuple[int, float, bool]:
    """Wall-clock start (ns, as the journal's times), seconds, and whether the run ended (not cut)."""
    if profiler is not None:
        profiler.enable()
    started_ns, start = time.time_ns(), time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            await engine.run_claimed(backend, execution_id, worker_id=WORKER)
        return started_ns, time.perf_counter() - start, True
    except TimeoutError:
        return started_ns, time.perf_counter() - start, False
    finally:
        if profiler is not None:
            profiler.disable()


def run_once(
    backend: LocalBackend, shape: Shape, limit: float | None, profiler: cProfile.Profile | None = None
) -> Run:
    """One execution of ``shape``, checked (unless cut at ``limit`` seconds)."""
    execution_id = new_execution(backend, shape.name)
    started_ns, elapsed, complete = asyncio.run(_run_claimed(backend, execution_id, limit, profiler))
    steps = backend.list_steps(execution_id)
    ends = sorted((s for s in steps if s.name.startswith("end:")), key=lambda s: s.step)
    if complete:
        done = backend.get_execution(execution_id)
        if done.status.phase != ExecutionPhase.COMPLETED:
            phase = ExecutionPhase.Name(done.status.phase)
            raise RuntimeError(f"{shape.name}: {phase}: {done.status.error.message}")
        value = dict(done.status.outputs).get("v")
        # A python task may journal its start besides its end (one step or two per task).
        most = shape.tasks * (2 if shape.kind == "python-chain" else 1)
        if value != shape.expected or not shape.tasks <= len(steps) <= most or len(ends) != shape.tasks:
            raise RuntimeError(
                f"{shape.name}: output v={value!r} (expected {shape.expected}), {len(steps)} steps, "
                f"{len(ends)} task ends (expected {shape.tasks})"
            )
    timeline = _timeline(started_ns, elapsed, [s.end_time.ToNanoseconds() for s in ends])
    return Run(elapsed, len(ends), complete, **timeline)


def commit_baseline(tmp: Path, commits: int, tag: str) -> dict[str, list[float]]:
    """One small row per write transaction on raw WAL connections (new files), FULL and NORMAL interleaved."""
    conns: dict[str, sqlite3.Connection] = {}
    for sync in ("FULL", "NORMAL"):
        conn = sqlite3.connect(tmp / f"commit-{tag}-{sync.lower()}.db", isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {sync}")
        conn.execute(
            "CREATE TABLE steps (id INTEGER PRIMARY KEY, execution_id TEXT, step INTEGER, output TEXT)"
        )
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
        for conn in conns.values():
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
    db = cast(Database, backend.db)
    evaluate, conn = module.evaluate, db.conn
    backend.record_step = meter.wrap("backend.record_step", backend.record_step)  # type: ignore[method-assign]
    module.evaluate = meter.wrap("expressions.evaluate", evaluate)
    db.conn = cast(SqliteConnection, TimedConnection(conn, meter))
    try:
        yield
    finally:
        del backend.record_step
        module.evaluate = evaluate
        db.conn = conn


def breakdown(backend: LocalBackend, shape: Shape) -> dict[str, Any]:
    """One metered run of ``shape``: seconds and calls per category."""
    meter = Meter()
    with metered(backend, meter):
        run = run_once(backend, shape, None)
    return {
        "seconds": run.seconds,
        "tasks": shape.tasks,
        "meter": dict(meter.seconds),
        "calls": dict(meter.calls),
    }


def _label(filename: str, line: int, func: str) -> str:
    if not line:
        return func
    parts = Path(filename).parts
    return f"{func} ({'/'.join(parts[-2:])}:{line})"


def _wrapper(filename: str, func: str) -> bool:
    """The event loop and the frames around the runner's work (they hold nearly 100 % of a run)."""
    path = Path(filename).as_posix()
    return (
        "/asyncio/" in path
        or path == Path(__file__).as_posix()
        or path.endswith("stigmer/engine/local.py")
        or (path.endswith("workflow/runner.py") and func == "run")
        or func == "<method 'run' of '_contextvars.Context' objects>"
    )


def profile(backend: LocalBackend, shape: Shape, top: int) -> dict[str, Any]:
    """cProfile one run: the top ``top`` by cumulative time (wrappers left out), and by self time.

    Diagnostic: cProfile inflates Python calls, so the shares matter, not the times.
    """
    profiler = cProfile.Profile()
    run = run_once(backend, shape, None, profiler)
    st = pstats.Stats(profiler)
    entries = cast(dict[tuple[str, int, str], tuple[int, int, float, float, Any]], st.stats)  # type: ignore[attr-defined]
    total = max(v[3] for v in entries.values())  # the outermost frame's cumulative time

    def rows(key: int, skip_wrappers: bool) -> list[dict[str, Any]]:
        ranked = sorted(entries.items(), key=lambda kv: kv[1][key], reverse=True)
        picked = [(k, v) for k, v in ranked if not (skip_wrappers and _wrapper(k[0], k[2]))][:top]
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
        "cumulative": rows(3, True),
        "self_time": rows(2, False),
    }


async def _trivial_async(backend: LocalBackend, execution_id: str) -> float:
    start = time.perf_counter()
    done = await engine.run_claimed(backend, execution_id, worker_id=WORKER)
    elapsed = time.perf_counter() - start
    if done.status.phase != ExecutionPhase.COMPLETED:
        raise RuntimeError(
            f"{TRIVIAL}: {ExecutionPhase.Name(done.status.phase)}: {done.status.error.message}"
        )
    return elapsed


def trivial_run(backend: LocalBackend) -> float:
    """A one-task workflow through run_claimed: the fixed cost of a run (claim ... release)."""
    return asyncio.run(_trivial_async(backend, new_execution(backend, TRIVIAL)))


def _timed_rounds(
    backend: LocalBackend, shapes: list[Shape], args: argparse.Namespace
) -> dict[Shape, list[Run]]:
    """Up to ``--runs`` runs per shape, round by round; a shape stops once over ``--budget`` or cut."""
    runs: dict[Shape, list[Run]] = {s: [] for s in shapes}
    spent: dict[Shape, float] = defaultdict(float)
    for size in args.sizes:
        for round_no in range(args.runs):  # interleaved round by round, so drift hits both alike
            for shape in (s for s in shapes if s.size == size):
                if runs[shape] and (spent[shape] >= args.budget or not runs[shape][-1].complete):
                    continue
                run = run_once(backend, shape, args.max_run_seconds)
                runs[shape].append(run)
                spent[shape] += run.seconds
                cut = "" if run.complete else f", cut after {run.tasks_done} of {shape.tasks} tasks"
                log(f"workflow: {shape.name} run {round_no + 1}: {run.seconds:.2f} s{cut}")
    return runs


def compile_cache() -> Any:
    """The expression compiler's cache (an lru_cache), or None if it has none by that name."""
    cache = getattr(expressions, "_compile", None)
    return cache if hasattr(cache, "cache_clear") else None


def cold_runs(backend: LocalBackend, runs: dict[Shape, list[Run]], limit: float) -> dict[Shape, Run]:
    """One more run of each chain with the expression cache emptied first, as in a fresh process.

    The timed runs share one process, so from the second run on every expression is compiled
    already; ``stigmer workflow execute`` runs a workflow once in a new process.
    """
    cache = compile_cache()
    cold: dict[Shape, Run] = {}
    if cache is None:
        return cold
    for shape, shape_runs in runs.items():
        if shape.kind == "chain" and all(r.complete for r in shape_runs):
            cache.cache_clear()
            cold[shape] = run_once(backend, shape, limit)
            log(f"workflow: {shape.name} with the expression cache emptied: {cold[shape].seconds:.2f} s")
    return cold


def measure_tasks(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    shapes = [Shape(kind, size) for size in args.sizes for kind in SHAPES]
    extra = [Shape(kind, size) for size in (100, DIAGNOSTIC_SIZE) for kind in SHAPES]  # warm-up, diagnostics
    commits = commit_baseline(tmp, args.commits // 2, "before")  # half now, half at the end
    backend = LocalBackend.open(tmp / "local.db", actor=ACTOR)
    try:
        with backend.db.read() as conn:
            sync = SYNC_NAMES.get(int(conn.execute("PRAGMA synchronous").fetchone()[0]), "?")
        log("workflow: applying the workflows (untimed)")
        apply_docs(backend, [trivial_doc(), *(s.document() for s in dict.fromkeys([*shapes, *extra]))])
        for kind in SHAPES:  # warm-up: imports, statement and expression caches
            run_once(backend, Shape(kind, 100), None)
        fixed = [trivial_run(backend) for _ in range(args.fixed_runs + 2)][2:]
        settle()
        runs = _timed_rounds(backend, shapes, args)
        cold = cold_runs(backend, runs, args.max_run_seconds)
        diagnostic: dict[str, Any] = {}
        prof: dict[str, Any] | None = None
        if args.diagnostics:
            log(f"workflow: diagnostics at {DIAGNOSTIC_SIZE} (metered runs, cProfile)")
            # Warm again: a larger chain since may have pushed these expressions out of the cache.
            run_once(backend, Shape("chain", DIAGNOSTIC_SIZE), None)
            diagnostic = {kind: breakdown(backend, Shape(kind, DIAGNOSTIC_SIZE)) for kind in SHAPES}
            prof = profile(backend, Shape("chain", DIAGNOSTIC_SIZE), args.profile_top)
    finally:
        backend.close()
    for sync_name, samples in commit_baseline(tmp, args.commits - args.commits // 2, "after").items():
        commits[sync_name] += samples
    return {
        "store_synchronous": sync,
        "fixed": fixed,
        "runs": runs,
        "cold": cold,
        "compile_cache_size": _cache_size(),
        "commits": commits,
        "diagnostic": diagnostic,
        "profile": prof,
    }


def _cache_size() -> int | None:
    cache = compile_cache()
    if cache is None or not hasattr(cache, "cache_parameters"):
        return None
    size = cache.cache_parameters().get("maxsize")
    return int(size) if size is not None else None


def _per_task(shape: Shape, runs: list[Run]) -> Stats:
    return stats([r.seconds / max(r.tasks_done, 1) for r in runs])


def _scaling(per_task: dict[Shape, Stats], sizes: list[int]) -> dict[str, float]:
    """Per-task median at the largest size over the smallest, per shape."""
    lo, hi = min(sizes), max(sizes)
    return {
        kind: per_task[Shape(kind, hi)].median_ms / per_task[Shape(kind, lo)].median_ms
        for kind in SHAPES
        if lo != hi
    }


def _breakdown_md(diagnostic: dict[str, Any]) -> list[str]:
    if not diagnostic:
        return []
    names: list[str] = []
    for entry in diagnostic.values():
        names += [n for n in entry["meter"] if n not in names]
    order = ["backend.record_step", "expressions.evaluate", *sorted(n for n in names if n.startswith("sql "))]
    rows = []
    for name in order:
        if all(entry["calls"].get(name, 0) < 0.01 * entry["tasks"] for entry in diagnostic.values()):
            continue  # a per-run statement (claim, status): in the whole run, not worth a row
        cells = [name]
        for entry in diagnostic.values():
            tasks = entry["tasks"]
            cells += [
                f"{entry['calls'].get(name, 0) / tasks:.2f}",
                f"{entry['meter'].get(name, 0.0) * 1000 / tasks:.3f}",
            ]
        rows.append(cells)
    rest = ["run minus record_step and evaluate (runner, asyncio, per-run calls)"]
    total = ["whole run"]
    for entry in diagnostic.values():
        tasks, meter = entry["tasks"], entry["meter"]
        other = (
            entry["seconds"] - meter.get("backend.record_step", 0.0) - meter.get("expressions.evaluate", 0.0)
        )
        rest += ["", f"{other * 1000 / tasks:.3f}"]
        total += ["", f"{entry['seconds'] * 1000 / tasks:.3f}"]
    header = ["per task"]
    for kind in diagnostic:
        header += [f"{kind}: calls", f"{kind}: ms"]
    return [
        f"Where a task goes, N = {DIAGNOSTIC_SIZE} (one run of each shape with the calls metered by wrapping "
        "them; SQL statements include those outside `record_step`, which are per run; `record_step` includes "
        "its SQL):",
        "",
        md_table(header, [*rows, rest, total]),
        "",
    ]


def _profile_md(prof: dict[str, Any] | None) -> list[str]:
    if prof is None:
        return []

    def table(rows: list[dict[str, Any]], what: str) -> str:
        return md_table(
            ["function", "calls / task", f"{what} ms / task (profiled)", "share of the run"],
            [
                [
                    f"`{r['function']}`",
                    f"{r['calls_per_task']:.2f}",
                    f"{r['ms_per_task']:.3f}",
                    f"{r['share']:.0%}",
                ]
                for r in rows
            ],
        )

    return [
        f"Under cProfile (one more chain of {prof['size']}, `run_claimed` only, {prof['total_s']:.1f} s "
        "profiled; cProfile inflates Python calls, so read the shares), top by cumulative time, with the "
        "event loop, `run_claimed`, `run_execution` and `WorkflowRunner.run` (each nearly all of the run) "
        "left out; nested rows overlap:",
        "",
        table(prof["cumulative"], "cumulative"),
        "",
        "Top self time:",
        "",
        table(prof["self_time"], "self"),
    ]


def _median(values: list[float]) -> float:
    """Median of values already in ms (NaN for a run too short to say)."""
    kept = [v for v in values if v == v]
    return stats([v / 1000 for v in kept]).median_ms if kept else float("nan")


def _shape_report(
    shape: Shape, runs: list[Run], cold: Run | None, fixed: Stats, full: Stats, normal: Stats
) -> tuple[dict[str, Any], list[object], list[object]]:
    """One workflow's JSON entry, its row in the main table and its row in the timeline table."""
    p = _per_task(shape, runs)
    complete = all(r.complete for r in runs)
    run_ms = stats([r.seconds for r in runs]).median_ms
    marginal = (run_ms - fixed.median_ms) / shape.tasks
    timeline = {name: _median([getattr(r, name) for r in runs]) for name in TIMELINE}
    entry = {
        "tasks": shape.tasks,
        "complete": complete,
        "runs": [asdict(r) for r in runs],
        "run": stats_dict([r.seconds for r in runs]),
        "per_task": stats_dict([r.seconds / max(r.tasks_done, 1) for r in runs]),
        "marginal_ms_per_task": marginal if complete else None,
        "cold_run": asdict(cold) if cold else None,
        "cold_ms_per_task": cold.seconds * 1000 / cold.tasks_done if cold else None,
        "timeline_median": timeline,
        "ratio_per_task_vs_commit_full": p.ratio(full),
        "ratio_per_task_vs_commit_normal": p.ratio(normal),
    }
    done = f"{shape.tasks:,}" if complete else f"**cut**: {runs[0].tasks_done:,} of {shape.tasks:,}"
    row: list[object] = [
        shape.kind,
        f"{shape.size:,}",
        done,
        len(runs),
        fmt_ms(run_ms),
        f"**{p.median_ms:.3f}**",
        f"**{p.ratio(full):.2f}x**",
        f"{p.ratio(normal):.1f}x",
        f"{marginal:.3f}" if complete else "-",
        f"{entry['cold_ms_per_task']:.3f} ({cold.seconds * 1000 / cold.tasks_done / full.median_ms:.2f}x)"
        if cold
        else "-",
    ]
    timeline_row: list[object] = [
        shape.kind,
        f"{shape.size:,}",
        fmt_ms(timeline["lead_ms"]),
        *(f"{timeline[name]:.3f}" for name in TIMELINE[1:4]),
        fmt_ms(timeline["trail_ms"]),
    ]
    return entry, row, timeline_row


TIMELINE = ("lead_ms", "pace_ms_per_task", "head_ms_per_task", "tail_ms_per_task", "trail_ms")


def report_tasks(result: dict[str, Any], args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    full, normal = stats(result["commits"]["FULL"]), stats(result["commits"]["NORMAL"])
    fixed = stats(result["fixed"])
    runs: dict[Shape, list[Run]] = result["runs"]
    cold: dict[Shape, Run] = result["cold"]
    per_task = {shape: _per_task(shape, r) for shape, r in runs.items()}
    goal_ms = GOAL_COMMITS_PER_CHAIN_TASK * full.median_ms
    chain = {s: p for s, p in per_task.items() if s.kind == "chain"}
    worst = max(chain, key=lambda s: chain[s].median_ms)
    met = all(p.median_ms <= goal_ms for p in chain.values())
    data: dict[str, Any] = {
        "store_synchronous": result["store_synchronous"],
        "commit_baseline": {
            "FULL": stats_dict(result["commits"]["FULL"]),
            "NORMAL": stats_dict(result["commits"]["NORMAL"]),
        },
        "one_task_workflow": stats_dict(result["fixed"]),
        "expression_compile_cache_size": result["compile_cache_size"],
        "shapes": {kind: {} for kind in SHAPES},
    }
    rows, timeline_rows = [], []
    for shape, shape_runs in runs.items():
        entry, row, timeline_row = _shape_report(shape, shape_runs, cold.get(shape), fixed, full, normal)
        data["shapes"][shape.kind][str(shape.size)] = entry
        rows.append(row)
        timeline_rows.append(timeline_row)
    scaling = _scaling(per_task, args.sizes)
    data["scaling_per_task_largest_vs_smallest"] = scaling
    data["goal"] = {
        "target_commits_per_chain_task": GOAL_COMMITS_PER_CHAIN_TASK,
        "commit_full_median_ms": full.median_ms,
        "worst_chain_size": worst.size,
        "worst_chain_ms_per_task": chain[worst].median_ms,
        "worst_chain_commits_per_task": chain[worst].ratio(full),
        "met": met,
    }
    data["diagnostic"] = result["diagnostic"]
    data["profile"] = result["profile"]
    cut_note = (
        f" A run longer than {args.max_run_seconds:g} s is cut there; its row counts the tasks it finished."
        if any(not r.complete for rs in runs.values() for r in rs)
        else ""
    )
    lo, hi = min(args.sizes), max(args.sizes)
    size = result["compile_cache_size"]
    cache_note = f"which holds {size:,} expressions" if size else "unbounded"
    if compile_cache() is None:
        cache_note = "none found by the name `expressions._compile`: no cold runs"
    md = [
        "## 1. Per-task overhead of `set` tasks",
        "",
        "Each execution runs in-process through `run_claimed` on a LocalBackend file and is checked "
        "(COMPLETED, one journal step per task, the right output). **chain**: each task depends on the "
        "previous one and sets `v: ${tasks.t<i-1>.outputs.v + 1}` (one CEL expression per task). "
        "**fan-out**: N independent tasks set a constant (no expression), then one join depends on all of "
        "them. Per task = run time / tasks (N; N + 1 for the fan-out), fixed costs included; marginal = "
        f"(run - a one-task workflow's run) / tasks. Up to {args.runs} runs per workflow, interleaved, each "
        f"workflow stopping once it has used {args.budget:g} s; medians.{cut_note} These runs share one "
        "process, so each expression is compiled once and then found in the compiler's cache "
        f"({cache_note}); **cold** is one more run of each chain with that cache emptied first, as "
        "`stigmer workflow execute` (a new process) runs it.",
        "",
        "Baseline, same run, same filesystem: one durable commit (raw sqlite3, WAL, `synchronous=FULL`, "
        f"one small row per transaction, {full.n} commits): **{full.median_ms:.3f} ms** median (p90 "
        f"{full.p90_ms:.3f}). With `synchronous=NORMAL`: {normal.median_ms:.3f} ms. The store itself runs "
        f"WAL with `synchronous={result['store_synchronous']}` (the `durability` setting): "
        + (
            "each commit waits for the disk, so it survives a power loss. "
            if result["store_synchronous"] == "FULL"
            else "its commits do not wait for the disk, so they survive a crash of the process but the last "
            "ones may not survive a power loss. "
        )
        + "A one-task workflow (claim, prepare, one step, finish, release) takes "
        f"{fmt_ms(fixed.median_ms)} ms.",
        "",
        md_table(
            [
                "workflow",
                "N",
                "tasks done",
                "runs",
                "run ms",
                "ms / task",
                "vs 1 commit (FULL)",
                "vs 1 commit (NORMAL)",
                "marginal ms / task",
                "cold: ms / task (vs 1 commit)",
            ],
            rows,
        ),
        "",
        f"- **A chain task costs at most {GOAL_COMMITS_PER_CHAIN_TASK:g} commits' time** "
        f"({goal_ms:.3f} ms): worst {chain[worst].median_ms:.3f} ms at N = {worst.size:,} "
        f"({chain[worst].ratio(full):.2f} commits): **{'met' if met else 'NOT met'}**.",
    ]
    if scaling:
        md.append(
            f"- Scaling, per-task time at N = {hi:,} over N = {lo:,}: "
            + ", ".join(f"{kind} {ratio:.2f}x" for kind, ratio in scaling.items())
            + " (1.00x is flat)."
        )
    md += [
        "",
        "Where a run's time goes, from the end times the journal recorded (medians): before the first task "
        "ends (claim, load and check the workflow, build the graph, the first task), the pace from the first "
        "task's end to the last one's (overall, over the first 10 % and over the last 10 % of the tasks), "
        "and after the last task (outputs, finish, release):",
        "",
        md_table(
            [
                "workflow",
                "N",
                "before the first task ends, ms",
                "pace ms / task",
                "first 10 %",
                "last 10 %",
                "after the last task, ms",
            ],
            timeline_rows,
        ),
        "",
        *_breakdown_md(result["diagnostic"]),
        *_profile_md(result["profile"]),
    ]
    return data, "\n".join(md)


# -- 2. workflows per second ------------------------------------------------------------------


@dataclass(frozen=True)
class Drain:
    """How one configuration drains the queue: sequential run_claimed, or a Worker."""

    label: str
    concurrency: int = 0  # 0: run_claimed one after another
    poll_seconds: float = 0.0


async def _drain(backend: LocalBackend, drain: Drain, ids: list[str], limit: float) -> tuple[float, int]:
    """Seconds to the last completion, and how many completed, within ``limit`` seconds."""
    start = time.perf_counter()
    finished: list[float] = []
    if not drain.concurrency:
        for execution_id in ids:
            await engine.run_claimed(backend, execution_id, worker_id=WORKER)
            finished.append(time.perf_counter() - start)
            if finished[-1] >= limit:
                break
        return finished[-1], len(finished)
    stop = asyncio.Event()

    def on_done(execution: Execution) -> None:
        finished.append(time.perf_counter() - start)
        if len(finished) == len(ids):
            stop.set()

    worker = engine.Worker(
        backend, concurrency=drain.concurrency, poll_seconds=drain.poll_seconds, on_done=on_done
    )
    timer = asyncio.get_running_loop().call_later(limit, stop.set)
    await worker.run(stop)
    timer.cancel()
    return (finished[-1] if finished else time.perf_counter() - start), len(finished)


def drain_queue(tmp: Path, drain: Drain, count: int, limit: float) -> dict[str, Any]:
    """A fresh store with ``count`` trivial workflows queued; drain it; check what completed."""
    path = tmp / f"queue-{drain.concurrency}-{drain.poll_seconds:g}.db"
    backend = LocalBackend.open(path, actor=ACTOR)
    try:
        apply_docs(backend, [trivial_doc()])
        ids = [new_execution(backend, TRIVIAL) for _ in range(count)]
        settle()
        seconds, completed = asyncio.run(_drain(backend, drain, ids, limit))
        phases = [backend.get_execution(i).status.phase for i in ids]
    finally:
        backend.close()
    done = sum(1 for p in phases if p == ExecutionPhase.COMPLETED)
    if done < completed or any(p not in (ExecutionPhase.COMPLETED, ExecutionPhase.PENDING) for p in phases):
        raise RuntimeError(f"{drain.label}: {completed} reported done, {done} COMPLETED in the store")
    return {"seconds": seconds, "completed": completed, "queued": count, "cut": completed < count}


def measure_throughput(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    default_poll = float(inspect.signature(engine.Worker).parameters["poll_seconds"].default)
    drains = [Drain("`run_claimed`, one after another (reference)")]
    drains += [Drain("`Worker`", c, default_poll) for c in args.concurrency]
    drains += [Drain("`Worker`, 0.01 s poll (diagnostic)", c, 0.01) for c in args.concurrency]
    results = []
    for drain in drains:
        entry = {**asdict(drain), **drain_queue(tmp, drain, args.workflows, args.drain_seconds)}
        entry["per_second"] = entry["completed"] / entry["seconds"]
        results.append(entry)
        log(f"workflow: {drain.label} x{drain.concurrency}: {entry['per_second']:.1f} workflows/s")
    return {"default_poll_seconds": default_poll, "drains": results}


def report_throughput(result: dict[str, Any], args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    drains = result["drains"]
    reference = drains[0]["per_second"]
    rows = []
    for d in drains:
        d["ratio_vs_sequential"] = d["per_second"] / reference
        done = f"{d['completed']}" + (f" of {d['queued']} (cut)" if d["cut"] else "")
        rows.append(
            [
                d["label"],
                d["concurrency"] or "-",
                f"{d['poll_seconds']:g}" if d["concurrency"] else "-",
                done,
                f"{d['seconds']:.2f}",
                f"**{d['per_second']:.1f}**",
                f"{1000 / d['per_second']:.2f}",
                f"{d['ratio_vs_sequential']:.{2 if d['ratio_vs_sequential'] >= 0.1 else 3}f}x",
            ]
        )
    users = [d for d in drains if d["concurrency"] and d["poll_seconds"] == result["default_poll_seconds"]]
    best = max(users, key=lambda d: d["per_second"])
    data = {**result, "worker_default_poll": {str(d["concurrency"]): d["per_second"] for d in users}}
    md = [
        "## 2. Workflows per second, one worker",
        "",
        f"A queue of {args.workflows} trivial workflows (one `set` task) in a fresh store, drained in this "
        "process by `stigmer.engine.local.Worker` (the stop event is set at the last completion; time from "
        "`Worker.run` to it), with the Worker's default poll interval "
        f"({result['default_poll_seconds']:g} s, what `stigmer worker` and the server use) and with 0.01 s; "
        "reference: `run_claimed` on each, one after another. A drain is cut after "
        f"{args.drain_seconds:g} s (the rate is then over the workflows done by then).",
        "",
        md_table(
            [
                "how",
                "concurrency",
                "poll s",
                "completed",
                "s",
                "workflows / s",
                "ms / workflow",
                "vs one after another",
            ],
            rows,
        ),
        "",
        "- One worker with the default poll: "
        + ", ".join(f"{d['per_second']:.1f} workflows/s at concurrency {d['concurrency']}" for d in users)
        + f"; the best is {best['per_second'] / reference:.3f}x `run_claimed` one after another "
        f"({reference:.0f}/s).",
    ]
    return data, "\n".join(md)


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--sizes", default="100,1000,10000", help="tasks per workflow (default 100,1000,10000)"
    )
    parser.add_argument("--runs", type=int, default=5, help="most runs per workflow (default 5)")
    parser.add_argument(
        "--budget", type=float, default=8.0, help="no further run of a workflow once its runs took this (s)"
    )
    parser.add_argument("--max-run-seconds", type=float, default=40.0, help="cut a run longer than this (s)")
    parser.add_argument("--fixed-runs", type=int, default=20, help="runs of a one-task workflow (default 20)")
    parser.add_argument("--commits", type=int, default=500, help="baseline commits timed (default 500)")
    parser.add_argument("--no-diagnostics", dest="diagnostics", action="store_false")
    parser.add_argument("--profile-top", type=int, default=15)
    parser.add_argument("--workflows", type=int, default=200, help="trivial workflows queued (default 200)")
    parser.add_argument("--concurrency", default="1,2,4", help="Worker concurrency (default 1,2,4)")
    parser.add_argument("--drain-seconds", type=float, default=6.0, help="cut a drain longer than this (s)")
    args = parser.parse_args(argv)
    args.sizes = sorted({int(s) for s in str(args.sizes).split(",") if s.strip()})
    args.concurrency = sorted({int(s) for s in str(args.concurrency).split(",") if s.strip()})
    if not args.sizes or min(args.sizes) < 1 or not args.concurrency or min(args.concurrency) < 1:
        parser.error("--sizes and --concurrency need positive numbers")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-workflow-") as name:
        tmp = Path(name)
        log("workflow: 1. per-task overhead")
        tasks = measure_tasks(args, tmp)
        log("workflow: 2. workflows per second")
        throughput = measure_throughput(args, tmp)
    tasks_data, tasks_md = report_tasks(tasks, args)
    throughput_data, throughput_md = report_throughput(throughput, args)
    data = {
        "params": vars(args),
        "tasks": tasks_data,
        "throughput": throughput_data,
        "goals": {"chain_task_at_most_2_commits": tasks_data["goal"]["met"]},
    }
    md = "\n".join(["# Workflow engine", "", tasks_md, "", throughput_md])
    json_path, md_path = write_results("workflow", data, md)
    print(md)
    log(f"workflow: wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
