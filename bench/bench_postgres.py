"""Server mode on PostgreSQL: one server on SQLite, one on PostgreSQL, two on one PostgreSQL.

A throwaway PostgreSQL (Debian's, fsync on, as a real database; ``stigmer.testing.postgres``)
and a SQLite file hold the same store: 1,000 agents and 40 skills applied by LocalBackend to
the file, then copied into the database (``stigmer migrate``'s copy). Then, in one run, for
each of three set-ups (real `stigmer server` processes, each with its worker, on 127.0.0.1):
one server on the SQLite file (**baseline**), one server on PostgreSQL, and two servers on
the one PostgreSQL database:

- throughput with 8 client processes (spread over the servers, each with its own
  RemoteBackend), ``--duration`` seconds each: ``get`` of random agents, ``list``'s first
  page (50), ``create`` of a new Skill, and a **trivial workflow** (one ``set`` task: create
  the execution, then watch it until it completes, run by the servers' workers);
- each server's CPU time (user + system, from /proc) per 1,000 of those requests, so the
  figures can be read for a bigger machine: here the clients, the servers and PostgreSQL
  share the machine's cores.

And the per-task time of the 100-task chain workflow (bench_workflow's) run by
``engine.run_claimed`` in this process on PostgreSQL against the SQLite file.

**Goals** (issue #15): a server's CPU per request on PostgreSQL within **1.5x** of on SQLite;
two servers at least **1.3x** one server's read (get) throughput.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import os
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python bench/bench_postgres.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_server import ACTOR, PAGE, Server, new_skills, seed
from bench.bench_workflow import TRIVIAL, Shape, apply_docs, run_once, trivial_doc
from bench.benchlib import log, md_table, write_results
from bench.corpus import agent_name
from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.keys import create_key
from stigmer.backend.local import LocalBackend
from stigmer.backend.relocate import copy_store
from stigmer.backend.remote import RemoteBackend
from stigmer.backend.wire import unpack_execution
from stigmer.store.database import open_database
from stigmer.testing.postgres import PostgresServer

OPS = ("get", "list", "create", "workflow")
CHAIN = 100
GOAL_CPU = 1.5
GOAL_READS = 1.3
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (Linux /proc/stat)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / _TICKS, sum(fields) / _TICKS


def _client(
    op: str,
    url: str,
    token: str,
    me: int,
    agents: int,
    duration: float,
    barrier: Barrier,
    results: Queue[tuple[int, float, float]],
) -> None:
    """One client process: warm-ups, then ``op`` for ``duration`` seconds."""
    backend = RemoteBackend(url, token=token)
    rng = random.Random(me)
    names = itertools.cycle([agent_name(rng.randrange(agents)) for _ in range(500)])
    # Decoded ahead of the timed calls: more than one client creates in ``duration`` here.
    skills = iter(new_skills(f"c{me}-{os.getpid()}", int(20 + 1000 * duration) if op == "create" else 0))

    def call() -> None:
        if op == "get":
            backend.get(Agent, next(names))
        elif op == "list":
            assert len(backend.list(Agent, page_size=PAGE).items) == PAGE
        elif op == "create":
            backend.create(next(skills))
        else:
            run = WorkflowExecution()
            run.spec.workflow = TRIVIAL
            execution_id = backend.create_execution(run).metadata.id
            last = None
            for event in backend.watch_execution(execution_id):
                last = event
            assert last is not None and last.HasField("execution")
            phase = unpack_execution(last.execution).status.phase
            assert phase == ExecutionPhase.COMPLETED, ExecutionPhase.Name(phase)

    try:
        for _ in range(3 if op == "workflow" else 20):
            call()
        barrier.wait()
        count, start, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - start < duration:
            call()
            count += 1
        results.put((count, time.perf_counter() - start, time.process_time() - cpu))
    finally:
        backend.close()


def throughput(
    op: str, urls: list[str], token: str, clients: int, agents: int, duration: float, servers: list[int]
) -> tuple[int, float, float, float, float]:
    """``clients`` processes spread over ``urls`` doing ``op`` at once.

    Returns the calls, calls/s, the clients' CPU seconds, the CPU seconds of the ``servers``
    (process ids), and the share of the whole machine's CPU (all cores) busy while they ran:
    all from after the clients' warm-up calls.
    """
    ctx = mp.get_context("spawn")  # gRPC and fork do not mix
    barrier = ctx.Barrier(clients + 1)  # and this process, to sample the machine's CPU
    results: Queue[tuple[int, float, float]] = ctx.Queue()
    workers = [
        ctx.Process(
            target=_client, args=(op, urls[i % len(urls)], token, i, agents, duration, barrier, results)
        )
        for i in range(clients)
    ]
    for w in workers:
        w.start()
    try:
        barrier.wait(timeout=180)
    except threading.BrokenBarrierError:
        for w in workers:
            w.kill()
        raise RuntimeError(f"a {op} client failed (see above) or did not start in 180 s") from None
    busy, total = machine_cpu()
    server_cpu = sum(cpu_seconds(pid) for pid in servers)
    got: list[tuple[int, float, float]] = []
    deadline = time.monotonic() + duration + 180
    while len(got) < clients:
        if any(w.exitcode not in (None, 0) for w in workers) or time.monotonic() > deadline:
            for w in workers:
                w.kill()
            raise RuntimeError(f"a {op} client failed (see above) or timed out")
        try:
            got.append(results.get(timeout=0.5))
        except queue.Empty:
            continue
    busy_after, total_after = machine_cpu()
    server_cpu = sum(cpu_seconds(pid) for pid in servers) - server_cpu
    for w in workers:
        w.join(30)
        if w.exitcode != 0:
            raise RuntimeError(f"a {op} client exited {w.exitcode}")
    return (
        sum(c for c, _, _ in got),
        sum(c / s for c, s, _ in got),
        sum(cpu for _, _, cpu in got),
        server_cpu,
        (busy_after - busy) / (total_after - total),
    )


def setup_run(
    name: str, databases: list[str], home: Path, token: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Start a server on each database, measure every op, stop them."""
    servers = [Server(home / f"{name}-{i}", database, worker=True) for i, database in enumerate(databases)]
    results: dict[str, Any] = {}
    try:
        urls = [server.wait_ready() for server in servers]
        for op in OPS:
            log(f"postgres: {name}: {op}, {args.clients} clients")
            pids = [s.process.pid for s in servers]
            calls, rate, client_cpu, cpu, busy_share = throughput(
                op, urls, token, args.clients, args.agents, args.duration, pids
            )
            results[op] = {
                "calls": calls,
                "calls_per_s": rate,
                "server_cpu_ms_per_1000": cpu / calls * 1e6,
                "client_cpu_ms_per_1000": client_cpu / calls * 1e6,
                "machine_busy_share": busy_share,
            }
    finally:
        for server in servers:
            server.stop()
    return results


def chain_per_task(location: str, runs: int) -> float:
    """Median ms per task of the chain workflow run by run_claimed in this process."""
    backend = LocalBackend.open(location, actor=ACTOR)
    try:
        shape = Shape("chain", CHAIN)
        apply_docs(backend, [shape.document()])
        run_once(backend, shape, None)  # warm-up
        return statistics.median(run_once(backend, shape, None).seconds / CHAIN * 1000 for _ in range(runs))
    finally:
        backend.close()


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


def report(
    setups: dict[str, dict[str, Any]], chain: dict[str, float], args: argparse.Namespace
) -> tuple[dict[str, Any], str]:
    base, one, two = setups["sqlite x1"], setups["postgresql x1"], setups["postgresql x2"]
    rows = []
    for op in OPS:
        rows.append(
            [
                op,
                *(f"{s[op]['calls_per_s']:,.0f}" for s in (base, one, two)),
                f"{one[op]['calls_per_s'] / base[op]['calls_per_s']:.2f}x",
                f"{two[op]['calls_per_s'] / one[op]['calls_per_s']:.2f}x",
                *(f"{s[op]['server_cpu_ms_per_1000']:,.0f}" for s in (base, one, two)),
                f"{one[op]['server_cpu_ms_per_1000'] / base[op]['server_cpu_ms_per_1000']:.2f}x",
            ]
        )
    cores = os.cpu_count() or 1
    machine_rows = []
    for name, setup in setups.items():
        get = setup["get"]
        machine = get["machine_busy_share"] * cores / get["calls_per_s"] * 1e6
        rest = machine - get["server_cpu_ms_per_1000"] - get["client_cpu_ms_per_1000"]
        get["machine_cpu_ms_per_1000"] = machine
        machine_rows.append(
            [
                name,
                f"{get['calls_per_s']:,.0f}",
                f"{get['machine_busy_share']:.0%}",
                f"{get['server_cpu_ms_per_1000']:,.0f}",
                f"{get['client_cpu_ms_per_1000']:,.0f}",
                f"{rest:,.0f}",
                f"{machine:,.0f}",
            ]
        )
    # What the whole machine could serve if every core were busy at two servers' per-get cost.
    ceiling = cores / two["get"]["machine_cpu_ms_per_1000"] * 1e6
    ceiling_ratio = ceiling / one["get"]["calls_per_s"]
    one_cores = one["get"]["server_cpu_ms_per_1000"] * one["get"]["calls_per_s"] / 1e6
    cpu_ratio = max(one[op]["server_cpu_ms_per_1000"] / base[op]["server_cpu_ms_per_1000"] for op in OPS)
    reads_ratio = two["get"]["calls_per_s"] / one["get"]["calls_per_s"]
    ratios = {
        "server CPU per request, PostgreSQL vs SQLite (worst op)": cpu_ratio,
        "get throughput, two servers vs one (PostgreSQL)": reads_ratio,
        "chain per task, PostgreSQL vs SQLite": chain["postgresql"] / chain["sqlite"],
        "get ceiling of this machine at two servers' CPU per get, vs one server": ceiling_ratio,
    }
    goals = {
        "cpu_per_request_within_1.5x": cpu_ratio <= GOAL_CPU,
        "two_servers_reads_at_least_1.3x": reads_ratio >= GOAL_READS,
    }
    data = {"setups": setups, "chain_ms_per_task": chain, "ratios": ratios, "goals": goals}
    md = [
        "# Server mode on PostgreSQL",
        "",
        f"{args.clients} client processes, {args.duration:g} s per measurement, against real "
        "`stigmer server` processes on 127.0.0.1 (each with its worker): one on a SQLite file, one on "
        "PostgreSQL, and two on one PostgreSQL database; the same store of 1,000 agents. "
        f"{os.cpu_count()} cores listed, shared by "
        "the clients, the servers and PostgreSQL (fsync on).",
        "",
        md_table(
            [
                "op",
                "calls/s SQLite x1",
                "PG x1",
                "PG x2",
                "PG x1 vs SQLite",
                "PG x2 vs x1",
                "server CPU ms/1000 SQLite",
                "PG x1",
                "PG x2",
                "PG vs SQLite CPU",
            ],
            rows,
        ),
        "",
        f"Chain of {CHAIN} `set` tasks, run in this process: {chain['sqlite']:.2f} ms a task on SQLite, "
        f"{chain['postgresql']:.2f} ms on PostgreSQL "
        f"({ratios['chain per task, PostgreSQL vs SQLite']:.2f}x).",
        "",
        f"- Server CPU per request on PostgreSQL, worst op: **{cpu_ratio:.2f}x** SQLite's "
        f"(goal: at most {GOAL_CPU}x: {_met(goals['cpu_per_request_within_1.5x'])}).",
        f"- Two servers on one PostgreSQL: **{reads_ratio:.2f}x** one server's gets "
        f"(goal: at least {GOAL_READS}x: {_met(goals['two_servers_reads_at_least_1.3x'])}).",
        "",
        "## Where the machine's CPU goes during the gets",
        "",
        "CPU per 1,000 gets: the server processes (their workers included), the client processes, "
        "and the rest of the machine's busy time (PostgreSQL, the kernel, this process). "
        "Busy is the share of all cores in use while the clients ran.",
        "",
        md_table(
            ["setup", "gets/s", "machine busy", "servers", "clients", "rest", "machine"],
            machine_rows,
        ),
        "",
        f"One server on PostgreSQL kept {one_cores:.2f} cores busy (one Python process: the GIL "
        "lets it use about one core). "
        f"At two servers' cost per get, {cores} fully busy cores serve at most **{ceiling:,.0f} gets/s**, "
        f"{ceiling_ratio:.2f}x one server's: "
        "beyond that, more servers here add nothing; on a machine whose clients and database run "
        "elsewhere, each server adds what the servers column allows.",
    ]
    return data, "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of each throughput run")
    parser.add_argument("--chain-runs", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ["STIGMER_KEYRING"] = "0"
    with (
        tempfile.TemporaryDirectory(prefix="stigmer-bench-postgres-") as tmp,
        PostgresServer(fsync=True) as pg,
    ):
        home = Path(tmp)
        sqlite = home / "server.db"
        seed(sqlite, args.agents)
        backend = LocalBackend.open(sqlite, actor=ACTOR)
        try:
            apply_docs(backend, [trivial_doc()])
        finally:
            backend.close()
        db = open_database(sqlite)
        try:
            _, token = create_key(db, "bench")
        finally:
            db.close()
        url = pg.create_database("bench")
        log(f"postgres: copied {copy_store(str(sqlite), url).total:,} rows into PostgreSQL")
        setups = {
            "sqlite x1": setup_run("sqlite", [str(sqlite)], home, token, args),
            "postgresql x1": setup_run("pg1", [url], home, token, args),
            "postgresql x2": setup_run("pg2", [url, url], home, token, args),
        }
        log("postgres: chain per task")
        chain = {
            "sqlite": chain_per_task(str(home / "chain.db"), args.chain_runs),
            "postgresql": chain_per_task(pg.create_database("chain"), args.chain_runs),
        }
    data, md = report(setups, chain, args)
    data["params"] = vars(args)
    json_path, md_path = write_results("postgres", data, md)
    print(md)
    log(f"postgres: wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
