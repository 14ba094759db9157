"""Server mode: the same calls through RemoteBackend against `stigmer server`, and on LocalBackend.

A real `stigmer server` (the console script, its own process, `--port 0 --no-worker`) on
127.0.0.1 serves a temporary database where LocalBackend applied 40 skills and 1,000
agents, with one API key. Then:

- latency, ~200 calls each after warm-ups: ``get(Agent, name)`` for random names, the first
  page (50) of ``list(Agent)``, and ``create`` of a new Skill each call, through
  ``RemoteBackend`` and (**baseline**, same run, same file) through ``LocalBackend``
  directly: median, p99 and the ratio of the medians;
- throughput of gets, ~3 s: 1 client process and 8 concurrent client processes, each with
  its own RemoteBackend, against 8 processes (and 1, for reference) each with its own
  LocalBackend on the same file. Total calls/s and ratios.

No goal is set: the numbers are reported. The server is stopped at the end.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python bench/bench_server.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import (
    env_with_home,
    fmt_ms,
    log,
    md_table,
    settle,
    stats,
    stats_dict,
    stigmer_cmd,
    time_calls,
    write_results,
)
from bench.corpus import agent_doc, agent_name, skill_doc
from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.backend.keys import create_key
from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import Backend
from stigmer.backend.remote import RemoteBackend
from stigmer.resources.decode import decode
from stigmer.resources.documents import Document
from stigmer.resources.kinds import Resource
from stigmer.store.database import Database

PAGE = 50
SKILLS = 40
READY = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
ACTOR = "local:bench"


def seed(path: Path, agents: int) -> None:
    """Apply the skills and agents through LocalBackend itself."""
    rng = random.Random(7)
    docs = [skill_doc(rng, i) for i in range(SKILLS)]
    docs += [agent_doc(rng, i, SKILLS) for i in range(agents)]
    backend = LocalBackend.open(path, actor=ACTOR)
    try:
        backend.apply([decode(Document("bench", i, doc)) for i, doc in enumerate(docs)])
    finally:
        backend.close()


def new_skills(prefix: str, count: int) -> list[Resource]:
    """``count`` Skills not in the store yet, decoded ahead of the timed calls."""
    rng = random.Random(prefix)
    out = []
    for i in range(count):
        doc = skill_doc(rng, SKILLS + i)
        doc["metadata"]["name"] = f"{prefix}-{i:06d}"
        out.append(decode(Document("bench", i, doc)))
    return out


class Server:
    """`stigmer server` in its own process on a free port of 127.0.0.1 (a SQLite file or a
    PostgreSQL URL; without its worker unless ``worker``)."""

    def __init__(self, home: Path, database: Path | str, *, worker: bool = False) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.log_path = home / "server.log"
        env = env_with_home(home)
        env["STIGMER_KEYRING"] = "0"  # master keys in a file of the temporary home, never the OS keyring
        no_worker = [] if worker else ["--no-worker"]
        cmd = stigmer_cmd("server", "--port", "0", "--database", str(database), *no_worker, "--grace", "0")
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
        self.port = 0

    def wait_ready(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = READY.search(self.log_path.read_text(encoding="utf-8", errors="replace"))
            if found:
                self.port = int(found.group(1))
                return f"grpc://127.0.0.1:{self.port}"
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}): {self.output()}")
            time.sleep(0.02)
        raise RuntimeError(f"the server did not start: {self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL after 10 s); the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def measure_latency(
    local: Backend, remote: Backend, names: list[str], args: argparse.Namespace
) -> dict[str, list[float]]:
    """get, list's first page and create, each both ways, ``args.calls`` timed calls."""

    def getter(backend: Backend) -> Callable[[], None]:
        it = itertools.cycle(names)

        def call() -> None:
            backend.get(Agent, next(it))

        return call

    def lister(backend: Backend) -> Callable[[], None]:
        def call() -> None:
            page = backend.list(Agent, page_size=PAGE)
            assert len(page.items) == PAGE and page.next_page_token

        return call

    def creator(backend: Backend, prefix: str) -> Callable[[], None]:
        it = iter(new_skills(prefix, args.calls + args.warmups))

        def call() -> None:
            backend.create(next(it))

        return call

    samples: dict[str, list[float]] = {}
    for label, make in (("get", getter), ("list", lister)):
        settle()
        samples[f"{label} local"] = time_calls(make(local), runs=args.calls, warmups=args.warmups)
        samples[f"{label} remote"] = time_calls(make(remote), runs=args.calls, warmups=args.warmups)
    local_create, remote_create = creator(local, "bench-local"), creator(remote, "bench-remote")
    settle()
    samples["create local"] = time_calls(local_create, runs=args.calls, warmups=args.warmups)
    samples["create remote"] = time_calls(remote_create, runs=args.calls, warmups=args.warmups)
    return samples


def _client(
    mode: str,
    where: str,
    token: str,
    names: list[str],
    duration: float,
    barrier: Barrier,
    results: Queue[tuple[int, float]],
) -> None:
    """One client process: its own backend, warm-ups, then gets for ``duration`` seconds."""
    backend: Backend = RemoteBackend(where, token=token) if mode == "remote" else LocalBackend.open(where)
    try:
        it = itertools.cycle(names)
        for _ in range(20):
            backend.get(Agent, next(it))
        barrier.wait()
        count = 0
        start = time.perf_counter()
        end = start + duration
        while True:
            backend.get(Agent, next(it))
            count += 1
            now = time.perf_counter()
            if now >= end:
                break
        results.put((count, now - start))
    finally:
        backend.close()


def _spin(seconds: float, results: Queue[tuple[int, float]]) -> None:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        count += 1
    results.put((count, seconds))


def cpu_scaling(procs: int, seconds: float = 0.5) -> float:
    """Work done by ``procs`` processes spinning at once over the work of one: how many cores the
    clients really get (a CPU quota can make 2 listed cores worth 1)."""
    ctx = mp.get_context("spawn")
    done = []
    for n in (1, procs):
        results: Queue[tuple[int, float]] = ctx.Queue()
        workers = [ctx.Process(target=_spin, args=(seconds, results)) for _ in range(n)]
        for w in workers:
            w.start()
        done.append(sum(results.get(timeout=60)[0] for _ in workers))
        for w in workers:
            w.join(30)
    return done[1] / done[0]


def throughput(
    mode: str, where: str, token: str, procs: int, names: list[str], duration: float
) -> dict[str, Any]:
    """``procs`` client processes doing gets at once: total calls and calls/s."""
    ctx = mp.get_context("spawn")  # gRPC and fork do not mix
    barrier = ctx.Barrier(procs)
    results: Queue[tuple[int, float]] = ctx.Queue()
    workers = [
        ctx.Process(
            target=_client,
            args=(mode, where, token, names[i::procs] or names, duration, barrier, results),
        )
        for i in range(procs)
    ]
    for w in workers:
        w.start()
    got = [results.get(timeout=duration + 120) for _ in workers]
    for w in workers:
        w.join(30)
        if w.exitcode != 0:
            raise RuntimeError(f"a {mode} client process exited {w.exitcode}")
    calls = sum(c for c, _ in got)
    rate = sum(c / s for c, s in got)  # each process's own rate; they ran over the same seconds
    return {"mode": mode, "processes": procs, "calls": calls, "calls_per_s": rate, "per_process": got}


def report(
    samples: dict[str, list[float]],
    runs: dict[str, dict[str, Any]],
    scaling: float,
    args: argparse.Namespace,
) -> tuple[dict[str, Any], str]:
    data: dict[str, Any] = {"latency": {}, "throughput": runs, "ratios": {}, "cpu_scaling_2_procs": scaling}
    rows = []
    for call in ("get", "list", "create"):
        local, remote = stats(samples[f"{call} local"]), stats(samples[f"{call} remote"])
        ratio = remote.ratio(local)
        data["latency"][call] = {
            "local": stats_dict(samples[f"{call} local"]),
            "remote": stats_dict(samples[f"{call} remote"]),
            "ratio_median_remote_vs_local": ratio,
            "ratio_p99_remote_vs_local": remote.p99_ms / local.p99_ms,
        }
        data["ratios"][f"{call}: RemoteBackend vs LocalBackend (median)"] = ratio
        rows.append(
            [
                call,
                fmt_ms(remote.median_ms),
                fmt_ms(remote.p99_ms),
                fmt_ms(local.median_ms),
                fmt_ms(local.p99_ms),
                f"{ratio:.1f}x",
                f"+{fmt_ms(remote.median_ms - local.median_ms)}",
            ]
        )
    one, many = runs["remote x1"]["calls_per_s"], runs[f"remote x{args.clients}"]["calls_per_s"]
    local_many = runs[f"local x{args.clients}"]["calls_per_s"]
    data["ratios"][f"throughput: {args.clients} remote clients vs 1"] = many / one
    data["ratios"][f"throughput: {args.clients} remote clients vs {args.clients} LocalBackend processes"] = (
        many / local_many
    )
    tp_rows = [
        [
            name,
            run["processes"],
            f"{run['calls']:,}",
            f"{run['calls_per_s']:,.0f}",
            f"{run['calls_per_s'] / one:.2f}x",
            f"{run['calls_per_s'] / local_many:.2f}x",
        ]
        for name, run in runs.items()
    ]
    md = [
        "# Server mode",
        "",
        f"`stigmer server` (its own process, `--no-worker`) on 127.0.0.1 over a database of {args.agents:,} "
        f"agents and {SKILLS} skills applied by LocalBackend, with an API key. {args.calls} calls each after "
        f"{args.warmups} warm-ups, through RemoteBackend and (baseline) through LocalBackend on the same "
        f"file, in this process. get: random names; list: the first page ({PAGE}); "
        "create: a new Skill each call.",
        "",
        md_table(
            ["call", "remote median ms", "remote p99", "local median", "local p99", "ratio", "added ms"],
            rows,
        ),
        "",
        f"Throughput of gets, {args.duration:g} s, each client process with its own backend (processes start "
        "together, after 20 warm-up calls each). The server and the clients share the machine's cores: "
        f"{os.cpu_count()} listed, and 2 processes spinning at once did {scaling:.2f}x the work of one.",
        "",
        md_table(
            ["clients", "processes", "calls", "calls/s", "vs remote x1", f"vs local x{args.clients}"], tp_rows
        ),
        "",
        f"- {args.clients} remote clients serve **{many / one:.2f}x** the calls/s of 1, and "
        f"**{many / local_many:.2f}x** those of {args.clients} processes reading the file with LocalBackend.",
        "- No goal is set: the numbers are reported.",
    ]
    return data, "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=200, help="timed calls per measurement (default 200)")
    parser.add_argument("--warmups", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8, help="concurrent client processes (default 8)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of each throughput run")
    args = parser.parse_args(argv)
    rng = random.Random(1)
    names = [agent_name(rng.randrange(args.agents)) for _ in range(max(args.calls, 1000))]
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-server-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        database = home / "server.db"
        os.environ["STIGMER_KEYRING"] = "0"
        started = time.perf_counter()
        seed(database, args.agents)
        db = Database.open(database)
        try:
            _, token = create_key(db, "bench")
        finally:
            db.close()
        log(
            f"server: {args.agents:,} agents applied in {time.perf_counter() - started:.1f}s; "
            "starting the server"
        )
        server = Server(home, database)
        try:
            url = server.wait_ready()
            log(f"server: listening at {url}; latency")
            local = LocalBackend.open(database, actor=ACTOR)
            remote = RemoteBackend(url, token=token)
            try:
                samples = measure_latency(local, remote, names, args)
            finally:
                remote.close()
                local.close()
            runs: dict[str, dict[str, Any]] = {}
            for mode, procs in (
                ("remote", 1),
                ("remote", args.clients),
                ("local", 1),
                ("local", args.clients),
            ):
                log(f"server: throughput, {procs} {mode} client(s)")
                where = url if mode == "remote" else str(database)
                runs[f"{mode} x{procs}"] = throughput(mode, where, token, procs, names, args.duration)
        finally:
            code = server.stop()
            log(f"server: stopped (exit {code})")
    scaling = cpu_scaling(2)
    data, md = report(samples, runs, scaling, args)
    data["params"] = vars(args)
    data["server_exit_code"] = code
    json_path, md_path = write_results("server", data, md)
    print(md)
    log(f"server: wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
