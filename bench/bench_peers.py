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

Each case: one warm-up run, then ``--rounds`` timed runs (Temporal: ``--temporal-rounds``);
medians. Per step = run time / N. In the same run, the cost of one durable commit is measured
(an INSERT in its own transaction, WAL, ``synchronous=FULL`` and ``NORMAL``): fsync times on a
shared machine vary by 10x with the other processes' disk traffic, so compare within a run.

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
from pathlib import Path
from typing import Any

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


# ---------------------------------------------------------------------------- children


def _stigmer(kind: str, durability: str, n: int, rounds: int) -> dict[str, Any]:
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
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-peers-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "config.yaml").write_text(f"durability: {durability}\n", encoding="utf-8")
        with Client(home=home) as client:
            client.workflows.apply(workflow)
            synchronous = client.backend.db.conn.execute("PRAGMA synchronous").fetchone()[0]  # type: ignore[attr-defined]
            for r in range(rounds + 1):
                start = time.perf_counter()
                run = client.workflows.execute("peers", {})
                seconds = time.perf_counter() - start
                value = dict(run.status.outputs).get("v")
                if value != expected:
                    raise RuntimeError(f"stigmer {kind}: v={value!r}, expected {expected}")
                if r:
                    times.append(seconds)
    return {"runs_s": times, "pragma_synchronous": synchronous}


def _langgraph(durability: str, n: int, rounds: int) -> dict[str, Any]:
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
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-peers-") as tmp:
        conn = sqlite3.connect(Path(tmp) / "langgraph.db", check_same_thread=False)
        app: Any = graph.compile(checkpointer=SqliteSaver(conn))
        for r in range(rounds + 1):
            config: Any = {"configurable": {"thread_id": f"run-{r}"}, "recursion_limit": n + 10}
            start = time.perf_counter()
            result = app.invoke({"v": -1}, config, durability=durability)
            seconds = time.perf_counter() - start
            if result["v"] != n - 1:
                raise RuntimeError(f"langgraph: v={result['v']!r}, expected {n - 1}")
            if r:
                times.append(seconds)
        pragmas = {
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
            "synchronous": conn.execute("PRAGMA synchronous").fetchone()[0],
        }
        conn.close()
    return {"runs_s": times, "pragmas": pragmas}


def _dbos(n: int, rounds: int) -> dict[str, Any]:
    from dbos import DBOS

    from bench.peer_steps import plus_one

    times: list[float] = []
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
        try:
            for r in range(rounds + 1):
                start = time.perf_counter()
                value = chain(n)
                seconds = time.perf_counter() - start
                if value != n - 1:
                    raise RuntimeError(f"dbos: v={value!r}, expected {n - 1}")
                if r:
                    times.append(seconds)
        finally:
            DBOS.destroy()
        conn = sqlite3.connect(path)
        pragmas = {
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
            "synchronous (a fresh connection: DBOS sets none)": conn.execute("PRAGMA synchronous").fetchone()[
                0
            ],
        }
        conn.close()
    return {"runs_s": times, "pragmas": pragmas}


def _temporal(n: int, rounds: int) -> dict[str, Any]:
    import asyncio

    from temporalio.client import Client as TemporalClient
    from temporalio.worker import Worker

    from bench.plain_temporal import PlainChain, PlainFanOut, step
    from stigmer.engine.temporal.devserver import binary, free_port
    from stigmer.engine.temporal.worker import DEFAULT_ACTIVITIES, sandbox

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-peers-") as tmp:
        port = free_port()
        command = [binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--headless"]
        command += ["--log-level", "error", "--db-filename", str(Path(tmp) / "temporal.db")]
        server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        try:

            async def main() -> None:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        client = await TemporalClient.connect(f"127.0.0.1:{port}")
                        break
                    except RuntimeError:
                        if time.monotonic() > deadline:
                            raise
                        await asyncio.sleep(0.2)
                worker = Worker(
                    client,
                    task_queue="peers",
                    workflows=[PlainChain, PlainFanOut],
                    activities=[step],
                    workflow_runner=sandbox(),
                    max_concurrent_activities=DEFAULT_ACTIVITIES,
                )
                async with worker:
                    for name, kind, expected in (
                        ("chain", PlainChain.run, n - 1),
                        ("fanout", PlainFanOut.run, n),
                    ):
                        times: list[float] = []
                        await client.execute_workflow(kind, 10, id=f"warm-{name}", task_queue="peers")
                        for r in range(rounds):
                            await asyncio.sleep(1.0)  # quiet before each run, as bench_temporal.py
                            start = time.perf_counter()
                            value = await client.execute_workflow(
                                kind, n, id=f"{name}-{r}", task_queue="peers"
                            )
                            times.append(time.perf_counter() - start)
                            if value != expected:
                                raise RuntimeError(f"temporal {name}: {value}, expected {expected}")
                        results[name] = times

            asyncio.run(main())
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {"chain": {"runs_s": results["chain"]}, "fanout": {"runs_s": results["fanout"]}}


def child(case: str, n: int, rounds: int) -> dict[str, Any]:
    """Run one case in this process; its result as JSON-able data."""
    if case.startswith("stigmer-"):
        _, kind, durability = case.split("-")
        return _stigmer(kind, durability, n, rounds)
    if case.startswith("langgraph-"):
        return _langgraph(case.split("-")[1], n, rounds)
    if case == "dbos":
        return _dbos(n, rounds)
    if case == "temporal":
        return _temporal(n, rounds)
    raise SystemExit(f"unknown case {case}")


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


def run_child(case: str, n: int, rounds: int) -> dict[str, Any] | str:
    """The child's result, or why it could not run."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", case, "--steps", str(n), "--rounds", str(rounds)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        if "ModuleNotFoundError" in proc.stderr:
            return f"not installed ({tail[0]}); {INSTALL_HINT}"
        return f"failed: {tail[0]}"
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


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
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-peers-") as tmp:
        commits = {"full": commit_ms(Path(tmp), "FULL"), "normal": commit_ms(Path(tmp), "NORMAL")}
        log(f"one commit: FULL {commits['full']:.3f} ms, NORMAL {commits['normal']:.3f} ms")
        children = [c for c in CASES if not c.startswith("temporal")] + ["temporal"]
        for case in children:
            if only and not any(case.startswith(o) for o in only):
                continue
            log(f"{case}: running")
            got = run_child(case, n, temporal_rounds if case == "temporal" else rounds)
            if isinstance(got, str):
                log(f"{case}: {got}")
                for name in CASES if case == "temporal" else [case]:
                    if name.startswith(case):
                        skipped[name] = got
                continue
            if case == "temporal":
                results["temporal-chain"] = _entry("temporal-chain", got["chain"]["runs_s"], n, {})
                results["temporal-fanout"] = _entry("temporal-fanout", got["fanout"]["runs_s"], n + 1, {})
            else:
                extra = {k: v for k, v in got.items() if k != "runs_s"}
                steps = n + 1 if "fanout" in case else n
                results[case] = _entry(case, got["runs_s"], steps, extra)
            for name in results:
                if name.startswith(case):
                    log(f"{name}: {results[name]['per_step_ms']:.3f} ms/step")
        commits["full_again"] = commit_ms(Path(tmp), "FULL")
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
        add("`set` chain at normal < 0.25 ms per task", f"{set_normal:.3f} ms", set_normal < 0.25)
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
        f"public API, each case in its own child process of one run, one warm-up then {rounds} timed runs "
        f"(plain Temporal: {temporal_rounds}); medians. See `bench/README.md`.",
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
    return "\n".join(lines)


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
        print(json.dumps(child(args.child, args.steps, args.rounds)))
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
