"""Stigmer against its peers, in one run: a chain of N trivial Python steps through each one's
public API, each at its documented durability, and a fan-out of N Python steps against plain
Temporal's.

Each case runs in a child process of this one (one process tree; no engine's imports or
globals leak into another's), on a fresh SQLite file in a temporary directory:

- **Stigmer, Python**: a workflow of N ``@task`` steps (``bench/peer_steps.py``), ``t{i}``
  depending on ``t{i-1}`` with ``v: ${tasks.t{i-1}.outputs.v}``, applied and run through
  ``stigmer.Client`` (``client.workflows.execute``), at ``durability: full`` and ``normal``.
- **Stigmer, set**: the same chain of ``set`` tasks (``v: ${tasks.t{i-1}.outputs.v + 1}``),
  both settings.
- **Stigmer, fan-out**: N independent ``@task`` steps and a join, both settings.
- **LangGraph**: a ``StateGraph`` of N nodes in a line, compiled with ``SqliteSaver``
  (WAL, SQLite's default ``synchronous=FULL``), invoked with ``durability="sync"`` (each
  step's checkpoint written before the next starts, as Stigmer's journal) and with its
  default ``"async"``.
- **DBOS Transact** on SQLite: one ``@DBOS.workflow`` calling a ``@DBOS.step`` N times
  (rollback journal, ``synchronous=FULL``: SQLite's defaults, which DBOS keeps).
- **plain temporalio**: ``bench/plain_temporal.py``'s chain and fan-out of trivial
  activities on ``temporal server start-dev`` with its history in a SQLite file
  (``--db-filename``), 100 activities at once.

Every case's child is started and warmed up (one untimed run; Temporal: runs of 10), then
the parent runs rounds of one timed run of each case, interleaved (the order reversed every
other round), so the disk's and the machine's drift hits every engine alike: ``--rounds``
(Temporal: ``--temporal-rounds``); medians. Per step = run time / N. In the same run, the cost
of one durable commit is measured (an INSERT in its own transaction, WAL, ``synchronous=FULL``
and ``NORMAL``), at the start and at the end: fsync times on a shared machine vary by 10x with
the other processes' disk traffic, so compare within a run.

Goals (issue 18): Python chain at ``full`` at least 3x faster per step than LangGraph and DBOS;
``set`` chain at ``full`` at most 2 durable commits' time per task, at ``normal`` under 0.25 ms;
fan-out at least 10x faster per step than plain Temporal's fan-out.

The peers are in the ``bench`` extra: ``.venv/bin/pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any

if not __package__:  # run as a script (python bench/bench_peers.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import ROOT, fmt_ms, log, md_table, write_results

CASES: dict[str, dict[str, str]] = {
    "stigmer-python-full": {"label": "Stigmer `@task` chain, `Client`", "durability": "full"},
    "stigmer-python-normal": {"label": "Stigmer `@task` chain, `Client`", "durability": "normal"},
    "stigmer-set-full": {"label": "Stigmer `set` chain, `Client`", "durability": "full"},
    "stigmer-set-normal": {"label": "Stigmer `set` chain, `Client`", "durability": "normal"},
    "stigmer-fanout-full": {"label": "Stigmer `@task` fan-out, `Client`", "durability": "full"},
    "stigmer-fanout-normal": {"label": "Stigmer `@task` fan-out, `Client`", "durability": "normal"},
    "langgraph-sync": {
        "label": "LangGraph + SqliteSaver, `durability='sync'`",
        "durability": "WAL, synchronous=FULL, checkpoint before the next step",
    },
    "langgraph-async": {
        "label": "LangGraph + SqliteSaver, `durability='async'` (its default)",
        "durability": "WAL, synchronous=FULL, checkpoint while the next step runs",
    },
    "dbos": {"label": "DBOS Transact on SQLite", "durability": "rollback journal, synchronous=FULL"},
    "temporal-chain": {
        "label": "plain temporalio chain, dev server",
        "durability": "server-side (dev server, SQLite file)",
    },
    "temporal-fanout": {
        "label": "plain temporalio fan-out, dev server",
        "durability": "server-side (dev server, SQLite file)",
    },
}
INSTALL_HINT = "the peers are in the bench extra: .venv/bin/pip install -e '.[bench]'"
GOAL_SET_NORMAL_MS = 0.25  # issue 18: a `set` step's engine work at `normal`


# ---------------------------------------------------------------------------- children
# Each child sets its engine up, runs once untimed, says "ready", then runs once per "run"
# line on stdin and answers the seconds, until "stop": the parent interleaves the cases.

Runner = Callable[[str], float]


@contextmanager
def _stigmer(kind: str, durability: str, n: int) -> Iterator[tuple[Runner, dict[str, Any]]]:
    from bench.peer_steps import step
    from stigmer import Client, Workflow
    from stigmer.sdk import Task, set_task

    tasks: list[Task]
    if kind == "python":
        tasks = [step.step("t0", v=-1)]
        tasks += [
            step.step(f"t{i}", v=f"${{tasks.t{i - 1}.outputs.v}}", depends_on=[f"t{i - 1}"])
            for i in range(1, n)
        ]
        outputs, expected = {"v": f"${{tasks.t{n - 1}.outputs.v}}"}, n - 1
    elif kind == "set":
        tasks = [set_task("t0", {"v": 0})]
        tasks += [
            set_task(f"t{i}", {"v": f"${{tasks.t{i - 1}.outputs.v + 1}}"}, depends_on=[f"t{i - 1}"])
            for i in range(1, n)
        ]
        outputs, expected = {"v": f"${{tasks.t{n - 1}.outputs.v}}"}, n - 1
    else:
        tasks = [step.step(f"t{i}", v=i - 1) for i in range(n)]
        tasks.append(
            step.step("join", v=f"${{tasks.t{n - 1}.outputs.v}}", depends_on=[f"t{i}" for i in range(n)])
        )
        outputs, expected = {"v": "${tasks.join.outputs.v}"}, n
    workflow = Workflow("peers", tasks=tasks, outputs=outputs)
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-peers-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "config.yaml").write_text(f"durability: {durability}\n", encoding="utf-8")
        with Client(home=home) as client:
            client.workflows.apply(workflow)
            conn = client.backend.db.conn  # type: ignore[attr-defined]

            def run(_: str) -> float:
                start = time.perf_counter()
                done = client.workflows.execute("peers", {})
                seconds = time.perf_counter() - start
                value = dict(done.status.outputs).get("v")
                if value != expected:
                    raise RuntimeError(f"stigmer {kind}: v={value!r}, expected {expected}")
                return seconds

            extra: dict[str, Any] = {"pragma_synchronous": conn.execute("PRAGMA synchronous").fetchone()[0]}
            yield run, extra
            # After the timed runs: what one run is made of, for the profile in the results.
            extra["statements_per_step"] = _statements(
                conn, lambda: run(""), n + 1 if kind == "fanout" else n
            )
            profile = _profile(lambda: run(""))
            extra["profile"], extra["profile_layers"] = profile["top"], profile["layers"]


def _statements(conn: Any, run: Callable[[], float], steps: int) -> dict[str, float]:
    """SQL statements of one run by verb (BEGIN, SELECT, INSERT, COMMIT, ...), per step."""
    counts: dict[str, int] = {}

    def count(statement: str) -> None:
        verb = statement.split(None, 1)[0].upper() if statement.strip() else "?"
        counts[verb] = counts.get(verb, 0) + 1

    conn.set_trace_callback(count)
    try:
        run()
    finally:
        conn.set_trace_callback(None)
    return {verb: k / steps for verb, k in sorted(counts.items(), key=lambda item: -item[1])}


# Layers of a step, by where a function's own time is spent: (name, path or name fragments).
_LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SQLite (statements and commits, in C)", ("sqlite3.",)),
    ("expressions (CEL)", ("cel_expr_python", "stigmer/resources/expressions")),
    (
        "protobuf and JSON conversion",
        ("google/protobuf", "google._upb", "stigmer/resources/codec", "stigmer/backend/wire", "json/"),
    ),
    (
        "event loop and threads",
        ("asyncio/", "selectors", "concurrent/", "threading", "queue.py", "_thread", "select.epoll"),
    ),
    ("Stigmer's store (SQL built and rows read)", ("stigmer/store/",)),
    ("Stigmer's journal and backend", ("stigmer/backend/",)),
    ("Stigmer's engine (tasks, state, driving)", ("stigmer/engine/", "stigmer/resources/", "stigmer/sdk/")),
)


def _layer(path: str, name: str) -> str:
    where = f"{path} {name}"
    for layer, marks in _LAYERS:
        if any(mark in where for mark in marks):
            return layer
    return "other (built-ins, Python's library)"


def _profile(run: Callable[[], float], top: int = 10) -> dict[str, Any]:
    """One run under cProfile: the functions with the most time of their own, and that own time
    summed by layer, as shares of the run (cProfile inflates Python calls, so read the shares,
    not the milliseconds)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    stats: Any = pstats.Stats(profiler)
    total = sum(entry[2] for entry in stats.stats.values()) or 1.0
    # The event loop's frames nest (a run inside a run), so their cumulative time counts twice.
    rows = [item for item in stats.stats.items() if item[1][3] <= total]
    rows = sorted(rows, key=lambda item: -item[1][2])[:top]
    layers: dict[str, float] = {}
    for (path, _, name), (_, _, own, _, _) in stats.stats.items():
        layer = _layer(path, name)
        layers[layer] = layers.get(layer, 0.0) + own / total
    out = []
    for (path, line, name), (_, calls, own, cumulative, _) in rows:
        where = path.split("/src/")[-1].split("/site-packages/")[-1].split("/lib/python3")[-1]
        out.append(
            {
                "function": f"{name} ({where}:{line})",
                "calls": calls,
                "own": own / total,
                "cumulative": cumulative / total,
            }
        )
    return {"top": out, "layers": dict(sorted(layers.items(), key=lambda item: -item[1]))}


@contextmanager
def _langgraph(durability: str, n: int) -> Iterator[tuple[Runner, dict[str, Any]]]:
    from typing import TypedDict

    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph

    from bench.peer_steps import plus_one

    class State(TypedDict):
        v: int

    def node(state: State) -> State:
        return {"v": plus_one(state["v"])}

    # Untyped: the peers' stubs differ between their versions (and are absent without the extra).
    graph: Any = StateGraph(State)
    for i in range(n):
        graph.add_node(f"t{i}", node)
    graph.add_edge(START, "t0")
    for i in range(1, n):
        graph.add_edge(f"t{i - 1}", f"t{i}")
    graph.add_edge(f"t{n - 1}", END)
    runs = iter(range(1_000_000))
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-peers-") as tmp:
        conn = sqlite3.connect(Path(tmp) / "langgraph.db", check_same_thread=False)
        app: Any = graph.compile(checkpointer=SqliteSaver(conn))

        def run(_: str) -> float:
            config: Any = {"configurable": {"thread_id": f"run-{next(runs)}"}, "recursion_limit": n + 10}
            start = time.perf_counter()
            result = app.invoke({"v": -1}, config, durability=durability)
            seconds = time.perf_counter() - start
            if result["v"] != n - 1:
                raise RuntimeError(f"langgraph: v={result['v']!r}, expected {n - 1}")
            return seconds

        extra: dict[str, Any] = {}
        yield run, extra
        extra["pragmas"] = {
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
            "synchronous": conn.execute("PRAGMA synchronous").fetchone()[0],
        }
        conn.close()


@contextmanager
def _dbos(n: int) -> Iterator[tuple[Runner, dict[str, Any]]]:
    from dbos import DBOS

    from bench.peer_steps import plus_one

    with tempfile.TemporaryDirectory(prefix="stigmer-bench-peers-") as tmp:
        path = Path(tmp) / "dbos.sqlite"
        DBOS(config={"name": "bench-peers", "system_database_url": f"sqlite:///{path}"})

        @DBOS.step()
        def step(v: int) -> int:
            return plus_one(v)

        @DBOS.workflow()
        def chain(count: int) -> int:
            v = -1
            for _ in range(count):
                v = step(v)
            return v

        DBOS.launch()

        def run(_: str) -> float:
            start = time.perf_counter()
            value = chain(n)
            seconds = time.perf_counter() - start
            if value != n - 1:
                raise RuntimeError(f"dbos: v={value!r}, expected {n - 1}")
            return seconds

        extra: dict[str, Any] = {}
        try:
            yield run, extra
        finally:
            DBOS.destroy()
        conn = sqlite3.connect(path)
        extra["pragmas"] = {
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
            "synchronous (DBOS sets none: SQLite's default)": conn.execute("PRAGMA synchronous").fetchone()[
                0
            ],
        }
        conn.close()


@contextmanager
def _temporal(n: int) -> Iterator[tuple[Runner, dict[str, Any]]]:
    import asyncio

    from temporalio.client import Client as TemporalClient
    from temporalio.worker import Worker

    from bench.plain_temporal import PlainChain, PlainFanOut, step
    from stigmer.engine.temporal.devserver import binary, free_port
    from stigmer.engine.temporal.worker import DEFAULT_ACTIVITIES, sandbox

    loop = asyncio.new_event_loop()
    runs = iter(range(1_000_000))
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-peers-") as tmp:
        port = free_port()
        command = [binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--headless"]
        command += ["--log-level", "error", "--db-filename", str(Path(tmp) / "temporal.db")]
        server = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

        async def connect() -> TemporalClient:
            deadline = time.monotonic() + 60
            while True:
                try:
                    return await TemporalClient.connect(f"127.0.0.1:{port}")
                except RuntimeError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)

        try:
            client = loop.run_until_complete(connect())

            async def make_worker() -> Worker:  # in the loop: the sandbox checks the workflows there
                return Worker(
                    client,
                    task_queue="peers",
                    workflows=[PlainChain, PlainFanOut],
                    activities=[step],
                    workflow_runner=sandbox(),
                    max_concurrent_activities=DEFAULT_ACTIVITIES,
                )

            worker = loop.run_until_complete(make_worker())

            async def execute(kind: str, size: int) -> float:
                workflow, expected = (
                    (PlainChain.run, size - 1) if kind == "chain" else (PlainFanOut.run, size)
                )
                await asyncio.sleep(1.0)  # quiet before each run, as bench_temporal.py
                start = time.perf_counter()
                value = await client.execute_workflow(
                    workflow, size, id=f"{kind}-{next(runs)}", task_queue="peers"
                )
                seconds = time.perf_counter() - start
                if value != expected:
                    raise RuntimeError(f"temporal {kind}: {value}, expected {expected}")
                return seconds

            loop.run_until_complete(worker.__aenter__())

            def run(kind: str) -> float:
                if kind == "warm-up":
                    loop.run_until_complete(execute("chain", 10))
                    return loop.run_until_complete(execute("fanout", 10))
                return loop.run_until_complete(execute(kind, n))

            try:
                yield run, {}
            finally:
                loop.run_until_complete(worker.__aexit__(None, None, None))
        finally:
            server.terminate()
            server.wait(timeout=30)


def _session(case: str, n: int) -> AbstractContextManager[tuple[Runner, dict[str, Any]]]:
    if case.startswith("stigmer-"):
        _, kind, durability = case.split("-")
        return _stigmer(kind, durability, n)
    if case.startswith("langgraph-"):
        return _langgraph(case.split("-")[1], n)
    if case == "dbos":
        return _dbos(n)
    if case == "temporal":
        return _temporal(n)
    raise SystemExit(f"unknown case {case}")


def child(case: str, n: int) -> None:
    """Serve one case: warm up, then one run per "run [KIND]" line on stdin, until "stop"."""
    with _session(case, n) as (run, extra):
        run("warm-up")
        print("ready", flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words or words[0] != "run":
                break
            print(json.dumps({"seconds": run(words[1] if len(words) > 1 else "")}), flush=True)
    print(json.dumps(extra), flush=True)


# ---------------------------------------------------------------------------- parent


def commit_ms(tmp: Path, synchronous: str, commits: int = 300) -> float:
    """Median time of one durable commit: an INSERT in its own transaction, WAL."""
    conn = sqlite3.connect(tmp / f"commit-{synchronous}-{time.time_ns()}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    times = []
    for _ in range(commits):
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", ("x" * 200,))
        conn.execute("COMMIT")
        times.append(time.perf_counter() - start)
    conn.close()
    return statistics.median(times) * 1000


class Child:
    """One case's child process, driven over its stdin and stdout."""

    def __init__(self, case: str, n: int, log_file: IO[str]) -> None:
        self.case = case
        self.log_file = log_file
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child", case, "--steps", str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            cwd=ROOT,
        )

    def ready(self) -> str:
        """ "" when it warmed up, else why it could not."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip() == "ready":
                return ""
            self.log_file.write(line)  # a log line of Temporal's core (see ask)
        self.proc.wait()
        self.log_file.seek(0)
        err = self.log_file.read()
        tail = (err.strip().splitlines() or ["(no output)"])[-1]
        if "ModuleNotFoundError" in err:
            return f"not installed ({tail}); {INSTALL_HINT}"
        return f"failed: {tail}"

    def ask(self, line: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        while True:
            answer = self.proc.stdout.readline()
            if not answer:
                self.proc.wait()
                self.log_file.seek(0)
                raise RuntimeError(f"{self.case} stopped: {self.log_file.read()[-2000:]}")
            if answer.startswith("{"):
                data: dict[str, Any] = json.loads(answer)
                return data
            # Temporal's Rust core logs its warnings to stdout: keep them with the child's log.
            self.log_file.write(answer)

    def stop(self) -> dict[str, Any]:
        extra = self.ask("stop")
        self.proc.wait(timeout=120)
        return extra


def _entry(case: str, runs: list[float], n: int, extra: dict[str, Any]) -> dict[str, Any]:
    median = statistics.median(runs)
    return {
        **CASES[case],
        "steps": n,
        "runs_ms": [t * 1000 for t in runs],
        "median_run_ms": median * 1000,
        "per_step_ms": median * 1000 / n,
        **extra,
    }


def measure(n: int, rounds: int, temporal_rounds: int, only: list[str]) -> dict[str, Any]:
    """Every case warmed up in its own child, then rounds of one run of each, interleaved."""
    skipped: dict[str, str] = {}
    runs: dict[str, list[float]] = {}
    extras: dict[str, dict[str, Any]] = {}
    children = [c for c in CASES if not c.startswith("temporal")] + ["temporal"]
    children = [c for c in children if not only or any(c.startswith(o) for o in only)]
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-peers-") as tmp:
        commits = {"full": commit_ms(Path(tmp), "FULL"), "normal": commit_ms(Path(tmp), "NORMAL")}
        log(f"one commit: FULL {commits['full']:.3f} ms, NORMAL {commits['normal']:.3f} ms")
        logs = {case: (Path(tmp) / f"{case}.log").open("w+", encoding="utf-8") for case in children}
        started: dict[str, Child] = {}
        for case in children:  # one at a time: a warm-up is a full run
            log(f"{case}: warming up")
            child = Child(case, n, logs[case])
            why = child.ready()
            if why:
                log(f"{case}: {why}")
                for name in CASES:
                    if name.startswith(case):
                        skipped[name] = why
            else:
                started[case] = child
        order = [c for c in CASES if any(c.startswith(s) for s in started)]
        for r in range(max(rounds, temporal_rounds)):
            for name in order if r % 2 == 0 else reversed(order):
                case = "temporal" if name.startswith("temporal") else name
                if r >= (temporal_rounds if case == "temporal" else rounds):
                    continue
                kind = name.split("-")[1] if case == "temporal" else ""
                seconds = float(started[case].ask(f"run {kind}".strip())["seconds"])
                runs.setdefault(name, []).append(seconds)
                steps = n + 1 if "fanout" in name else n
                log(f"round {r + 1}: {name}: {seconds * 1000 / steps:.3f} ms/step")
        for case, child in started.items():
            extras[case] = child.stop()
        commits["full_again"] = commit_ms(Path(tmp), "FULL")
        for handle in logs.values():
            handle.close()
    results = {
        name: _entry(name, runs[name], n + 1 if "fanout" in name else n, extras.get(name, {}))
        for name in order
        if name in runs
    }
    return {"cases": results, "skipped": skipped, "commit_ms": commits}


def goals(data: dict[str, Any]) -> list[dict[str, Any]]:
    cases = data["cases"]
    out: list[dict[str, Any]] = []

    def per(name: str) -> float | None:
        return cases[name]["per_step_ms"] if name in cases else None

    def add(goal: str, value: str, met: bool | None) -> None:
        out.append({"goal": goal, "value": value, "met": met})

    python_full = per("stigmer-python-full")
    for peer in ("langgraph-sync", "dbos"):
        other = per(peer)
        if python_full is not None and other is not None:
            ratio = other / python_full
            add(f"`@task` chain at full >= 3x faster per step than {peer}", f"{ratio:.2f}x", ratio >= 3)
    commit = data["commit_ms"]["full"]
    set_full, set_normal = per("stigmer-set-full"), per("stigmer-set-normal")
    if set_full is not None:
        add(
            "`set` chain at full <= 2 durable commits per task",
            f"{set_full:.3f} ms = {set_full / commit:.2f} commits ({commit:.3f} ms each)",
            set_full <= 2 * commit,
        )
    if set_normal is not None:
        add(
            f"`set` chain at normal < {GOAL_SET_NORMAL_MS} ms per task",
            f"{set_normal:.3f} ms",
            set_normal < GOAL_SET_NORMAL_MS,
        )
    fan, plain = per("stigmer-fanout-full"), per("temporal-fanout")
    if fan is not None and plain is not None:
        add(
            "fan-out at full >= 10x faster per step than plain Temporal's",
            f"{plain / fan:.1f}x",
            plain / fan >= 10,
        )
    return out


def markdown(data: dict[str, Any], n: int, rounds: int, temporal_rounds: int) -> str:
    cases = data["cases"]
    base = cases.get("stigmer-python-full")
    rows = []
    for entry in cases.values():
        ratio = f"{entry['per_step_ms'] / base['per_step_ms']:.2f}x" if base else ""
        rows.append(
            [
                entry["label"],
                entry["durability"],
                f"{entry['steps']:,}",
                fmt_ms(entry["median_run_ms"]),
                f"**{entry['per_step_ms']:.3f}**",
                ratio,
            ]
        )
    for name, why in data["skipped"].items():
        rows.append([CASES[name]["label"], CASES[name]["durability"], "", "", why, ""])
    commits = data["commit_ms"]
    lines = [
        "# Stigmer and its peers",
        "",
        f"A chain of {n:,} trivial Python steps (and a fan-out of {n:,} and a join) through each engine's "
        f"public API, each case in its own child process of one run, warmed up, then {rounds} rounds of "
        f"one timed run of each, interleaved (plain Temporal: {temporal_rounds}); medians. "
        "See `bench/README.md`.",
        "",
        md_table(
            ["engine", "durability", "steps", "run ms", "ms / step", "vs Stigmer `@task` at full"], rows
        ),
        "",
        f"One durable commit in this run (an INSERT in its own transaction, WAL): synchronous=FULL "
        f"{commits['full']:.3f} ms (again at the end: {commits['full_again']:.3f} ms), NORMAL "
        f"{commits['normal']:.3f} ms.",
        "",
        "Goals (issue 18):",
        "",
    ]
    for goal in data["goals"]:
        verdict = "**met**" if goal["met"] else "**NOT met**"
        lines.append(f"- {goal['goal']}: {goal['value']}: {verdict}")
    lines += profile_lines(data)
    lines += standing_goal_lines()
    return "\n".join(lines)


def profile_lines(data: dict[str, Any]) -> list[str]:
    """Where a Stigmer step's time goes: the engine's own work (the run at ``normal``, whose
    commits do not wait for the disk), the wait for the disk (``full`` less ``normal``) in
    commits of this run, the statements of a step, and the functions of a ``normal`` run."""
    cases, commit = data["cases"], data["commit_ms"]["full"]
    rows = []
    for kind, label in (("python", "`@task` chain"), ("set", "`set` chain"), ("fanout", "`@task` fan-out")):
        full, normal = cases.get(f"stigmer-{kind}-full"), cases.get(f"stigmer-{kind}-normal")
        if not (full and normal):
            continue
        wait = full["per_step_ms"] - normal["per_step_ms"]
        sql = full.get("statements_per_step", {})
        rows.append(
            [
                label,
                f"{full['per_step_ms']:.3f}",
                f"{normal['per_step_ms']:.3f}",
                f"{wait:.3f} ({wait / commit:.2f} commits)",
                f"{sql.get('COMMIT', 0):.2f}",
                ", ".join(f"{verb} {k:.2f}" for verb, k in sql.items() if verb != "COMMIT"),
            ]
        )
    if not rows:
        return []
    out = [
        "",
        "## Where a Stigmer step's time goes",
        "",
        "At `normal` a commit does not wait for the disk, so a step's time there is the engine's own "
        "work; `full` less `normal` is the wait for the disk, here in durable commits of this run "
        f"({commit:.3f} ms each). Statements per step counted over one more run at `full`.",
        "",
        md_table(
            [
                "Stigmer",
                "ms / step, full",
                "normal (engine work)",
                "disk wait",
                "commits / step",
                "other SQL / step",
            ],
            rows,
        ),
    ]
    python_full, python_normal = cases.get("stigmer-python-full"), cases.get("stigmer-python-normal")
    peers = [cases[p]["per_step_ms"] for p in ("langgraph-sync", "dbos") if p in cases]
    if python_full and python_normal and peers:
        target = min(peers) / 3
        wait = python_full["per_step_ms"] - python_normal["per_step_ms"]
        out += [
            "",
            f"To be 3x faster than the faster of LangGraph (sync) and DBOS at full, a `@task` step must take "
            f"{target:.3f} ms; with its disk wait of {wait:.3f} ms that leaves "
            f"{max(target - wait, 0):.3f} ms of engine work, against {python_normal['per_step_ms']:.3f} ms "
            "measured."
            + (
                " What would close it: less engine work per step, by the layers of the table below "
                "(the same step path as for the `set` chain), or group commit, which shrinks the disk "
                "wait only where steps end together (a fan-out, not a chain)."
                if python_full["per_step_ms"] > target
                else ""
            ),
        ]
    fan_full, fan_normal, plain = (
        cases.get("stigmer-fanout-full"),
        cases.get("stigmer-fanout-normal"),
        cases.get("temporal-fanout"),
    )
    if fan_full and fan_normal and plain:
        target = plain["per_step_ms"] / 10
        wait = fan_full["per_step_ms"] - fan_normal["per_step_ms"]
        if fan_full["per_step_ms"] > target:
            out += [
                "",
                f"To be 10x faster than plain Temporal's fan-out, a fan-out step must take {target:.3f} ms; "
                f"its disk wait alone is {wait:.3f} ms (a durable commit per step) and its engine work "
                f"{fan_normal['per_step_ms']:.3f} ms. What would close it: group commit, the ends of steps "
                "that finish together written in one transaction (one wait for the disk for many steps).",
            ]
    out += _layer_lines(cases)
    profile = (python_normal or {}).get("profile", [])
    if profile:
        out += [
            "",
            "One `@task` chain run at `normal` under cProfile, the functions with most time of their own "
            "(shares of the profiled run; cProfile inflates Python calls):",
            "",
            md_table(
                ["function", "calls / step", "own", "with callees"],
                [
                    [
                        f"`{p['function']}`",
                        f"{p['calls'] / python_normal['steps']:.2f}",
                        f"{p['own']:.0%}",
                        f"{p['cumulative']:.0%}",
                    ]
                    for p in profile
                ],
            ),
        ]
    return out


def _layer_lines(cases: dict[str, Any]) -> list[str]:
    """A step's engine work by layer (runs at ``normal``), and what would close the chain goals."""
    runs = {
        label: cases[name]
        for name, label in (("stigmer-set-normal", "`set` chain"), ("stigmer-python-normal", "`@task` chain"))
        if cases.get(name, {}).get("profile_layers")
    }
    if not runs:
        return []
    layers = list(dict.fromkeys(layer for run in runs.values() for layer in run["profile_layers"]))
    rows = []
    for layer in layers:
        shares = [run["profile_layers"].get(layer, 0.0) for run in runs.values()]
        rows.append(
            [layer]
            + [
                f"{share:.0%} ({share * run['per_step_ms']:.3f} ms)"
                for share, run in zip(shares, runs.values(), strict=True)
            ]
        )
    out = [
        "",
        "A step's engine work (the run at `normal`) by layer: the own time of the functions in each, "
        "under cProfile, as shares of the run and those shares of the measured ms / step:",
        "",
        md_table(["layer", *runs], rows),
    ]
    chain = runs.get("`set` chain")
    if chain:
        shares = chain["profile_layers"]
        biggest, share = next((k, v) for k, v in shares.items() if not k.startswith("other"))
        need = max(1 - GOAL_SET_NORMAL_MS / chain["per_step_ms"], 0)
        selects = cases.get("stigmer-set-full", {}).get("statements_per_step", {}).get("SELECT", 0.0)
        out += [
            "",
            f"What would close the `set` chain goals: at `normal` a step must lose {need:.0%} of its engine "
            f"work (the largest named layer, {biggest.split(' (')[0]}, holds {share:.0%}); at `full` the "
            "engine work must fit in one commit's wait. "
            + ("No single fix does it: " if share < need else "")
            + "it takes a step path that keeps "
            "a task's data as Python values from the task to the journal row (today a step's input and "
            "output go to protobuf Structs and back to JSON), the lease and phase checks folded into the "
            f"step's INSERT ({selects:.2f} SELECTs a step now), and group commit for steps that end "
            "together.",
        ]
    return out


def standing_goal_lines() -> list[str]:
    """The issue's standing goals, as their own benchmarks last measured them (each file says
    on which commit; run `bench/run_all.py --only startup,agent,temporal` to measure again)."""
    found = []
    results = ROOT / "bench" / "results"
    for name, key, label in (
        ("startup", "get_agents_goal", "`stigmer get agents` on 1,000 agents under 6x `python -c pass`"),
        ("temporal", "goal", "Stigmer on Temporal within 10 % of plain temporalio at every shape"),
        ("agent", "ttft", "time to first token within 1.1x of llama-cpp-python"),
    ):
        path = results / f"{name}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        commit = str(data.get("machine", {}).get("git_commit", ""))[:12]
        where = f"bench/results/{name}.md" + (f", at `{commit}`" if commit else "")
        if name == "startup":
            goal = data[key]
            found.append(f"- {label}: {goal['value']:.2f}x: {_verdict(goal['met'])} ({where})")
            steps = data.get("get_agents_steps_ms", {})
            floor = steps.get("import click", 0.0) + steps.get("import protobuf", 0.0)
            base = data.get("commands", {}).get(data.get("baseline", ""), {}).get("median_ms", 0.0)
            if not goal["met"] and floor and base:
                found.append(
                    f"  Where it goes: importing click and protobuf alone takes {floor:.1f} ms, "
                    f"{floor / base:.1f}x `python -c pass` ({base:.1f} ms) before any of Stigmer runs; "
                    "with Python's own start-up that is "
                    f"{(floor + base) / base:.1f}x of the 6x. Closing it takes a read path that imports "
                    "neither (a table rendered from the stored JSON, the CLI framework loaded only for "
                    "other commands)."
                )
        elif name == "temporal":
            goal = data[key]
            found.append(f"- {label}: worst +{goal['worst_overhead']:.1%}: {_verdict(goal['met'])} ({where})")
            if not goal["met"]:
                found += _temporal_where(data)
        else:
            met = data.get("goals", {}).get("ttft_within_10_percent")
            ttft = data.get(key, {})
            ratio = ttft.get("ratio")
            value = f"{ratio:.2f}x: " if isinstance(ratio, float) else ""
            found.append(f"- {label}: {value}{_verdict(bool(met))} ({where})")
            phases = ttft.get("phases_median_ms", {}).get("stigmer agent execute (traced)", {})
            before = phases.get("CLI imports, open store, create + claim execution")
            if not met and before:
                found.append(
                    f"  Where it goes: the model's import, load and first token take what they take "
                    f"directly; the difference is the {before:.0f} ms of CLI imports, opening the store "
                    "and recording the run before the model is asked for. The import of llama_cpp holds "
                    "the GIL, so loading it in a thread meanwhile gains little. What would close it: "
                    "a lighter import path for `agent execute` (the same floor as `get agents`), "
                    "or a process that stays up: a `stigmer server` or worker keeps the model "
                    "loaded between runs, so its runs skip the import and the load "
                    "altogether (not measured here)."
                )
    if not found:
        return []
    return ["", "## The standing goals, from their own benchmarks", "", *found]


def _temporal_where(data: dict[str, Any]) -> list[str]:
    """Where the worst shape of bench_temporal's runs spends Stigmer's extra time, from the
    Temporal histories it recorded, and what would close the gap."""
    shapes = [s for s in data.get("shapes", {}).values() if "stigmer-temporal" in s.get("profile", {})]
    if not shapes:
        return []
    worst = max(shapes, key=lambda s: s.get("overhead_vs_plain", 0.0))
    ours, plain = worst["profile"]["stigmer-temporal"], worst["profile"].get("plain-temporal", {})
    if not plain:
        return []

    chains = max((s.get("overhead_vs_plain", 0.0) for s in shapes if s.get("kind") == "chain"), default=0.0)

    def more(key: str) -> str:
        return f"{ours[key] - plain[key]:+,.0f} ms"

    return [
        f"  Where it goes (the worst shape, {worst['kind']} of {worst['size']}, from the runs' Temporal "
        f"histories): the run {more('run_ms')} over plain temporalio; time in activities "
        f"{more('activities_ms')} (summed: they overlap), in workflow tasks {more('workflow_tasks_ms')}, "
        f"workflow tasks waiting {more('workflow_task_waits_ms')}. Each task's activity also evaluates "
        "the task (CEL) and commits its journal step on the worker's event loop, so a fan-out's "
        f"activities queue behind each other; the chains, one activity at a time, are at most "
        f"+{chains:.1%}. "
        "What would close it: that work off the event loop (the activity's store calls in a thread "
        "with its own connection), and the journal steps of activities that end together committed in "
        "one transaction."
    ]


def _verdict(met: bool) -> str:
    return "**met**" if met else "**NOT met**"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="steps per chain and fan-out (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each case (default 3)")
    parser.add_argument("--temporal-rounds", type=int, default=1, help="timed runs on Temporal (default 1)")
    parser.add_argument(
        "--only", default="", help="comma-separated case prefixes (stigmer,langgraph,dbos,temporal)"
    )
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.steps)
        return 0
    only = [o.strip() for o in args.only.split(",") if o.strip()]
    data = measure(args.steps, args.rounds, args.temporal_rounds, only)
    data["goals"] = goals(data)
    data.update({"steps": args.steps, "rounds": args.rounds, "temporal_rounds": args.temporal_rounds})
    md = markdown(data, args.steps, args.rounds, args.temporal_rounds)
    print(md)
    json_path, md_path = write_results("peers", data, md)
    log(f"peers: wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Without the interpreter's teardown: a Temporal client's native threads can outlive it
    # (temporalio/sdk-python#300).
    os._exit(code)
