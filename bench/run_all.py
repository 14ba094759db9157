"""Run every benchmark, each in its own process, then write bench/results/results.md.

Usage (from the repository root):
    .venv/bin/python bench/run_all.py [--only NAME,…]  (startup, apply, read, agent, server, postgres,
    workflow, temporal, ui, peers, cel)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python bench/run_all.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import BENCH_DIR, RESULTS_DIR, log, md_table

BENCHMARKS = {
    "startup": "bench_startup.py",
    "apply": "bench_apply.py",
    "read": "bench_read.py",
    "agent": "bench_agent.py",
    "server": "bench_server.py",
    "postgres": "bench_postgres.py",
    "workflow": "bench_workflow.py",
    "temporal": "bench_temporal.py",
    "ui": "bench_ui.py",
    "peers": "bench_peers.py",
    "cel": "bench_cel.py",
}


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _verdict(met: bool) -> str:
    return "met" if met else "**NOT met**"


def summary_rows() -> list[list[str]]:
    """One row per goal or headline ratio, from the results files of this run."""
    rows: list[list[str]] = []
    startup = _load("startup")
    if startup:
        goal = startup["goal"]
        listing = startup["commands"]["stigmer agent list"]["ratio_median_vs_baseline"]
        rows.append(
            [
                "startup",
                f"`stigmer version` < {goal['target_below']:g}x `python -c pass`",
                f"{goal['value']:.2f}x",
                _verdict(bool(goal["met"])),
            ]
        )
        rows.append(["startup", "`stigmer agent list` vs `python -c pass`", f"{listing:.1f}x", "(no goal)"])
        get = startup.get("get_agents_goal")
        if get:
            rows.append(
                [
                    "startup",
                    f"`stigmer get agents` (1,000 agents) < {get['target_below']:g}x `python -c pass`",
                    f"{get['value']:.2f}x (CPU time {get['cpu_value']:.2f}x)",
                    _verdict(bool(get["met"])),
                ]
            )
    apply = _load("apply")
    if apply:
        for label, ratio in apply["ratios"].items():
            rows.append(["apply", label, f"{ratio:.1f}x", "(no goal)"])
    read = _load("read")
    if read:
        goal = read["goal"]
        worst = {
            call: max(size["measurements"][call]["p99_ms"] for size in read["sizes"].values())
            for call in ("get", "list")
        }
        rows.append(
            [
                "read",
                f"get and list p99 < {goal['target_ms']:g} ms at every size",
                f"worst p99: get {worst['get']:.2f} ms, list {worst['list']:.2f} ms",
                _verdict(bool(goal["under_5ms"])),
            ]
        )
        growth = goal["growth_median_first_to_last"]
        rows.append(
            [
                "read",
                f"flat: median growth 1k -> 100k <= {goal['flat_threshold']}x",
                f"get {growth['get']:.2f}x, list {growth['list']:.2f}x",
                _verdict(bool(goal["flat"])),
            ]
        )
        for name, entry in read["executions"].items():
            if name.startswith("phase="):
                rows.append(
                    [
                        "read",
                        f"list_executions {name}, first page",
                        f"{entry['median_ms']:.2f} ms ({entry['ratio_median_vs_raw']:.0f}x raw)",
                        "(no goal)",
                    ]
                )
    rows += agent_rows(_load("agent"))
    rows += server_rows(_load("server"))
    rows += postgres_rows(_load("postgres"))
    rows += workflow_rows(_load("workflow"))
    rows += temporal_rows(_load("temporal"))
    rows += peers_rows(_load("peers"))
    return rows


def peers_rows(peers: dict[str, Any] | None) -> list[list[str]]:
    """Stigmer against LangGraph, DBOS and plain Temporal: the goals of bench_peers.py."""
    if not peers:
        return []
    return [["peers", goal["goal"], goal["value"], _verdict(bool(goal["met"]))] for goal in peers["goals"]]


def temporal_rows(temporal: dict[str, Any] | None) -> list[list[str]]:
    """The Temporal engine: Stigmer over plain Temporal per shape, against the goal."""
    if not temporal:
        return []
    goal = temporal["goal"]
    per_shape = "; ".join(
        f"{entry['kind']} N={entry['size']:,}: {entry['overhead_vs_plain'] * 100:+.1f} %"
        for entry in temporal["shapes"].values()
    )
    return [
        [
            "temporal",
            f"Stigmer on Temporal adds < {goal['target_overhead'] * 100:.0f} % to plain temporalio per task",
            per_shape,
            _verdict(bool(goal["met"])),
        ]
    ]


def workflow_rows(workflow: dict[str, Any] | None) -> list[list[str]]:
    """The workflow engine: a chain task against 2 durable commits, fan-out, scaling, workflows/s."""
    if not workflow:
        return []
    tasks = workflow["tasks"]
    goal = tasks["goal"]
    commit = goal["commit_full_median_ms"]

    def per_size(kind: str) -> str:
        entries = tasks["shapes"][kind].items()
        return "; ".join(
            f"N={int(n):,}: {e['per_task']['median_ms']:.3f} ms = {e['ratio_per_task_vs_commit_full']:.2f}"
            " commits"
            for n, e in entries
        )

    rows = [
        [
            "workflow",
            f"chain `set` task <= {goal['target_commits_per_chain_task']:g} durable commits "
            f"(WAL, synchronous=FULL: {commit:.3f} ms)",
            per_size("chain"),
            _verdict(bool(goal["met"])),
        ],
        ["workflow", "fan-out `set` task vs 1 durable commit", per_size("fan-out"), "(no goal)"],
    ]
    scaling = tasks["scaling_per_task_largest_vs_smallest"]
    if scaling:
        sizes = sorted(int(n) for n in tasks["shapes"]["chain"])
        rows.append(
            [
                "workflow",
                f"per-task time, N={sizes[-1]:,} vs N={sizes[0]:,}",
                ", ".join(f"{kind} {ratio:.2f}x" for kind, ratio in scaling.items()),
                "(no goal)",
            ]
        )
    throughput = workflow["throughput"]
    reference = throughput["drains"][0]["per_second"]
    rows.append(
        [
            "workflow",
            f"trivial workflows/s, one `Worker` (poll {throughput['default_poll_seconds']:g} s)",
            ", ".join(
                f"{rate:.1f} at concurrency {c}" for c, rate in throughput["worker_default_poll"].items()
            )
            + f" (`run_claimed` back to back: {reference:.0f})",
            "(no goal)",
        ]
    )
    return rows


def server_rows(server: dict[str, Any] | None) -> list[list[str]]:
    """Server mode: RemoteBackend against LocalBackend per call, and the throughput ratios."""
    if not server:
        return []
    rows: list[list[str]] = []
    for call, entry in server["latency"].items():
        rows.append(
            [
                "server",
                f"{call}: RemoteBackend vs LocalBackend (median)",
                f"{entry['remote']['median_ms']:.3f} vs {entry['local']['median_ms']:.3f} ms "
                f"({entry['ratio_median_remote_vs_local']:.1f}x)",
                "(no goal)",
            ]
        )
    for label, ratio in server["ratios"].items():
        if label.startswith("throughput"):
            rows.append(["server", label, f"{ratio:.2f}x", "(no goal)"])
    return rows


def postgres_rows(postgres: dict[str, Any] | None) -> list[list[str]]:
    """Servers on PostgreSQL: the CPU and read-scaling goals, and the chain's per-task ratio."""
    if not postgres:
        return []
    ratios, goals = postgres["ratios"], postgres["goals"]
    cpu = "server CPU per request, PostgreSQL vs SQLite (worst op)"
    reads = "get throughput, two servers vs one (PostgreSQL)"
    chain = "chain per task, PostgreSQL vs SQLite"
    return [
        [
            "postgres",
            cpu,
            f"{ratios[cpu]:.2f}x",
            f"<= 1.5x: {_verdict(goals['cpu_per_request_within_1.5x'])}",
        ],
        [
            "postgres",
            reads,
            f"{ratios[reads]:.2f}x",
            f">= 1.3x: {_verdict(goals['two_servers_reads_at_least_1.3x'])}",
        ],
        ["postgres", chain, f"{ratios[chain]:.2f}x", "(no goal)"],
    ]


def agent_rows(agent: dict[str, Any] | None) -> list[list[str]]:
    """The agent benchmark's goals (runner per turn, time to first token) and the MCP ratio."""
    if not agent:
        return []
    rows: list[list[str]] = []
    runner = agent["runner"]
    if runner.get("goal", {}).get("met") is not None:
        goal = runner["goal"]
        worst_n = max(runner["turns"], key=lambda n: runner["turns"][n]["per_turn_ms"]["total"])
        ratio = runner["turns"][worst_n]["ratio_per_turn_vs_commit"]
        rows.append(
            [
                "agent",
                f"runner overhead < {goal['target_ms_per_turn']:g} ms per turn (scripted model, fake tools)",
                f"{goal['worst_median_ms_per_turn']:.3f} ms (N={worst_n}; {ratio:.0f}x one commit)",
                _verdict(bool(goal["met"])),
            ]
        )
    mcp = agent["mcp"]
    if "ratio" in mcp:
        calls = mcp["calls"]
        rows.append(
            [
                "agent",
                "MCP tool call: `ToolServers.call` vs raw `ClientSession.call_tool`",
                f"{calls['ToolServers.call']['median_ms']:.3f} vs "
                f"{calls['ClientSession.call_tool']['median_ms']:.3f} ms ({mcp['ratio']:.2f}x)",
                "(no goal)",
            ]
        )
    ttft = agent["ttft"]
    label = "time to first token, `stigmer agent execute` (local/smollm2) within 10% of llama-cpp-python"
    if ttft["status"] == "measured":
        first = ttft["first_byte"]
        rows.append(
            [
                "agent",
                label,
                f"{ttft['ratio']:.2f}x ({first['stigmer agent execute']['median_ms']:.0f} vs "
                f"{first['llama-cpp-python direct']['median_ms']:.0f} ms)",
                _verdict(bool(ttft["goal"]["met"])),
            ]
        )
    else:
        rows.append(["agent", label, f"not measured: {ttft['reason']}", "waiting"])
    return rows


def write_summary(durations: dict[str, float]) -> Path:
    """results.md: the goals, then each benchmark's own summary."""
    parts = [
        "# Benchmark results",
        "",
        "Written by `bench/run_all.py`; each section is the benchmark's own `<name>.md`, raw numbers in "
        "`<name>.json`. Ratios are against baselines measured in the same run (see bench/README.md).",
        "",
        md_table(["benchmark", "goal / measure", "value", "verdict"], summary_rows()),
        "",
        "Run time: " + ", ".join(f"{name} {secs:.0f} s" for name, secs in durations.items()) + ".",
        "",
    ]
    for name in BENCHMARKS:
        md = RESULTS_DIR / f"{name}.md"
        if md.exists():
            text = md.read_text(encoding="utf-8").rstrip("\n")
            # Demote each benchmark's headings one level under this page's title.
            parts += [
                "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines()),
                "",
            ]
    path = RESULTS_DIR / "results.md"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the Stigmer benchmarks.")
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help="comma-separated: " + ",".join(BENCHMARKS)
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    durations: dict[str, float] = {}
    failed: list[str] = []
    for name in chosen:
        log(f"== {name}")
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(BENCH_DIR / BENCHMARKS[name])], check=False)
        durations[name] = time.perf_counter() - start
        if proc.returncode != 0:
            failed.append(name)
        print(flush=True)
    path = write_summary(durations)
    log(f"== wrote {path} ({sum(durations.values()):.0f} s in all)")
    if failed:
        log(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
