"""CLI start-up: wall time of `stigmer version`, `stigmer --help`, `stigmer agent list` and
`stigmer get agents` on a home of 1,000 agents.

Baseline: `python -c pass` with the same interpreter, measured in the same run, interleaved
with the commands (one run of each per round) so drift hits all of them alike. CPU time (user
+ system, of the child) is reported beside wall time: on a shared machine it moves less with
the other processes' load.
Goals: `stigmer version` under 4x `python -c pass` (median); `stigmer get agents` on 1,000
agents under 6x (issue 18).

Also reports the steps of `stigmer get agents` timed in one process (importing click, protobuf,
the CLI, the local backend; opening the store; reading and decoding the agents; rendering), and
`python -X importtime` for `stigmer get agents` (the top modules by cumulative and by self time,
self time per package) and for `stigmer version`, to guide start-up work.
Reads only: the store's durability setting (default `full`) plays no part.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python bench/bench_startup.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import (
    EXAMPLES_DIR,
    env_with_home,
    fmt_ms,
    log,
    md_table,
    run_checked,
    stats,
    stats_dict,
    stigmer_cmd,
    write_results,
)

GOAL_RATIO = 4.0
GET_GOAL_RATIO = 6.0
AGENTS = 1000
GET_AGENTS = f"stigmer get agents ({AGENTS:,} agents)"
BASELINE = "python -c pass"
COMMANDS: dict[str, list[str]] = {
    BASELINE: [sys.executable, "-c", "pass"],
    # Reference, not a goal: the floor set by importing click alone.
    "python -c 'import click'": [sys.executable, "-c", "import click"],
    "stigmer version": stigmer_cmd("version"),
    "stigmer --help": stigmer_cmd("--help"),
    "stigmer agent list": stigmer_cmd("agent", "list"),
    GET_AGENTS: stigmer_cmd("get", "agents"),
}
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def prepare_home(home: Path) -> None:
    """A home with the example resources applied (a few agents, a workflow, ...)."""
    env = env_with_home(home)
    run_checked(stigmer_cmd("init"), env=env)
    run_checked(stigmer_cmd("apply", "-f", str(EXAMPLES_DIR)), env=env)


def prepare_agents(home: Path, count: int) -> None:
    """A home of ``count`` agents, applied through the SDK (the CLI reads them back)."""
    code = (
        "import sys\n"
        "from stigmer import Agent, Client\n"
        "with Client(home=sys.argv[1]) as client:\n"
        "    for i in range(int(sys.argv[2])):\n"
        "        client.agents.apply(Agent(f'agent-{i:04d}', instructions='You help. ' * 20,"
        " model='scripted', labels={'team': f't{i % 8}'}))\n"
    )
    subprocess.run([sys.executable, "-c", code, str(home), str(count)], check=True)


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    envs: dict[str, dict[str, str]], *, runs: int, warmups: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall times and CPU times (s) of every command, interleaved round by round."""
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for round_no in range(warmups + runs):
        for name, cmd in COMMANDS.items():
            before = _cpu_of_children()
            elapsed = run_checked(cmd, env=envs.get(name, envs[""]))
            if round_no >= warmups:
                samples[name].append(elapsed)
                cpu[name].append(_cpu_of_children() - before)
    return samples, cpu


def import_times(env: dict[str, str], args: list[str], *, runs: int) -> list[dict[str, Any]]:
    """Per module: median self and cumulative import time (µs) of `stigmer ARGS`."""
    per_module: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"self": [], "cumulative": []})
    depth: dict[str, int] = {}
    for _ in range(runs):
        cmd = [sys.executable, "-X", "importtime", *stigmer_cmd(*args)[1:]]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        for line in proc.stderr.splitlines():
            match = _IMPORT_LINE.match(line)
            if not match:
                continue
            self_us, cumulative_us, indent, module = match.groups()
            per_module[module]["self"].append(int(self_us))
            per_module[module]["cumulative"].append(int(cumulative_us))
            depth[module] = (len(indent) - 1) // 2
    return [
        {
            "module": module,
            "depth": depth[module],
            "self_us": statistics.median(times["self"]),
            "cumulative_us": statistics.median(times["cumulative"]),
        }
        for module, times in per_module.items()
    ]


# `stigmer get agents` in one process, its steps timed in the order the command takes them
# (each import step imports only what the steps before it have not): where the time goes
# without importtime's inflation.
_PHASES_SCRIPT = """
import sys, time
marks = [("start", time.perf_counter())]
def mark(name):
    marks.append((name, time.perf_counter()))
import click; mark("import click")
import google.protobuf.descriptor_pool; mark("import protobuf")
import stigmer.api.agent.v1.agent_pb2; mark("import the generated agent_pb2")
import stigmer.cli.main, stigmer.cli.reads, stigmer.cli.output; mark("import the rest of the CLI")
import stigmer.backend.local; mark("import the local backend")
from stigmer.backend.factory import open_backend
from stigmer.cli.output import render
from stigmer.config import home_dir, load_config
from stigmer.resources.kinds import kind_info
backend = open_backend(load_config(home_dir())); mark("open the store")
info = kind_info("agent")
items, token = [], ""
while True:
    page = backend.list(info.message, labels={}, page_size=500, page_token=token)
    items += page.items
    token = page.next_page_token
    if not token:
        break
mark("read and decode the agents")
text = render(items, "table", kind=info.kind); mark("render the table")
sys.stdout.write(text + chr(10)); sys.stdout.flush(); mark("write it")
print(repr([(name, t - marks[0][1]) for name, t in marks[1:]]), file=sys.stderr)
"""


def phases(env: dict[str, str], *, runs: int) -> dict[str, float]:
    """Median ms of each step of `stigmer get agents` in one process (see _PHASES_SCRIPT)."""
    import ast

    per_step: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", _PHASES_SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        previous = 0.0
        for name, at in ast.literal_eval(proc.stderr.strip().splitlines()[-1]):
            per_step[name].append((at - previous) * 1000)
            previous = at
    return {name: statistics.median(times) for name, times in per_step.items()}


def by_package(modules: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """Self import time (µs) summed per top-level package, largest first."""
    totals: dict[str, float] = defaultdict(float)
    for entry in modules:
        name = str(entry["module"])
        top = name.split(".")[0]
        if top == "google":
            top = "google.protobuf"
        elif top == "stigmer":
            parts = name.split(".")
            top = ".".join(parts[:3]) if parts[1:2] == ["api"] else ".".join(parts[:2])
            top = "stigmer.api (generated *_pb2)" if top.startswith("stigmer.api") else top
        totals[top] += float(entry["self_us"])
    return sorted(totals.items(), key=lambda kv: kv[1], reverse=True)


def _cumulative_table(modules: list[dict[str, Any]], top: int) -> str:
    ranked = sorted(modules, key=lambda m: float(m["cumulative_us"]), reverse=True)[:top]
    return md_table(
        ["module", "cumulative ms", "self ms"],
        [
            [f"`{m['module']}`", fmt_ms(float(m["cumulative_us"]) / 1000), fmt_ms(float(m["self_us"]) / 1000)]
            for m in ranked
        ],
    )


def _profile_data(modules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "total_self_us": sum(float(m["self_us"]) for m in modules),
        "self_us_by_package": dict(by_package(modules)),
        "modules": sorted(modules, key=lambda m: float(m["cumulative_us"]), reverse=True),
    }


def report(
    samples: dict[str, list[float]],
    cpu: dict[str, list[float]],
    profiles: dict[str, list[dict[str, Any]]],
    steps: dict[str, float],
) -> tuple[dict[str, Any], str]:
    """The JSON data and the Markdown summary."""
    base = stats(samples[BASELINE])
    cpu_base = statistics.median(cpu[BASELINE])
    results: dict[str, Any] = {}
    rows = []
    for name, secs in samples.items():
        st = stats(secs)
        ratio_median = st.median_ms / base.median_ms
        ratio_p90 = st.p90_ms / base.p90_ms
        cpu_median = statistics.median(cpu[name])
        results[name] = {
            **stats_dict(secs),
            "ratio_median_vs_baseline": ratio_median,
            "ratio_p90_vs_baseline": ratio_p90,
            "cpu_median_ms": cpu_median * 1000,
            "cpu_ratio_median_vs_baseline": cpu_median / cpu_base,
        }
        rows.append(
            [
                f"`{name}`",
                fmt_ms(st.median_ms),
                fmt_ms(st.p90_ms),
                f"{ratio_median:.2f}x",
                f"{ratio_p90:.2f}x",
                fmt_ms(cpu_median * 1000),
                f"{cpu_median / cpu_base:.2f}x",
            ]
        )
    version_ratio = float(results["stigmer version"]["ratio_median_vs_baseline"])
    goal_met = version_ratio < GOAL_RATIO
    budget_ms = GOAL_RATIO * base.median_ms
    get_ratio = float(results[GET_AGENTS]["ratio_median_vs_baseline"])
    get_met = get_ratio < GET_GOAL_RATIO
    listing = profiles["get agents"]
    total_us = sum(float(m["self_us"]) for m in listing)
    packages = by_package(listing)
    top_self = sorted(listing, key=lambda m: float(m["self_us"]), reverse=True)[:10]
    data = {
        "baseline": BASELINE,
        "goal": {
            "metric": "median(stigmer version) / median(python -c pass)",
            "target_below": GOAL_RATIO,
            "budget_ms": budget_ms,
            "value": version_ratio,
            "met": goal_met,
        },
        "get_agents_goal": {
            "metric": f"median({GET_AGENTS}) / median(python -c pass)",
            "target_below": GET_GOAL_RATIO,
            "value": get_ratio,
            "cpu_value": float(results[GET_AGENTS]["cpu_ratio_median_vs_baseline"]),
            "met": get_met,
        },
        "commands": results,
        "importtime": {name: _profile_data(mods) for name, mods in profiles.items()},
        "get_agents_steps_ms": steps,
    }
    steps_total = sum(steps.values())
    md = [
        "# Start-up",
        "",
        f"Wall time of {len(samples[BASELINE])} runs per command after warm-ups, interleaved; "
        f"baseline `{BASELINE}` with the same interpreter. `import click` is a reference point "
        "(the floor of any command that imports click), not a goal.",
        "",
        md_table(
            ["command", "median ms", "p90 ms", "median ratio", "p90 ratio", "CPU ms", "CPU ratio"], rows
        ),
        "",
        f"**Goal** `stigmer version` < {GOAL_RATIO:g}x `{BASELINE}` (median, i.e. under "
        f"{budget_ms:.1f} ms here): {version_ratio:.2f}x, **{'met' if goal_met else 'NOT met'}**.",
        "",
        f"**Goal** `{GET_AGENTS}` < {GET_GOAL_RATIO:g}x `{BASELINE}` (median): {get_ratio:.2f}x "
        f"(CPU time: {results[GET_AGENTS]['cpu_ratio_median_vs_baseline']:.2f}x), "
        f"**{'met' if get_met else 'NOT met'}**. Reads only: durability plays no part.",
        "",
        f"## Where `{GET_AGENTS}` spends its time",
        "",
        "The command's steps in one process, timed in order (median of runs; each import step "
        "imports what the steps before it have not). Python's own start-up comes before them: "
        f"`{BASELINE}` is {base.median_ms:.1f} ms here.",
        "",
        md_table(
            ["step", "ms", "share of the steps"],
            [[name, fmt_ms(ms), f"{ms / steps_total:.0%}"] for name, ms in steps.items()]
            + [["**all steps**", fmt_ms(steps_total), ""]],
        ),
        "",
        f"## `python -X importtime {GET_AGENTS}` (median of runs; {total_us / 1000:.1f} ms of imports "
        "under importtime, which inflates them)",
        "",
        "Top 10 by cumulative time (a module's own time plus what it imported first):",
        "",
        _cumulative_table(listing, 10),
        "",
        "Top 10 by self time:",
        "",
        md_table(
            ["module", "self ms"],
            [[f"`{m['module']}`", fmt_ms(float(m["self_us"]) / 1000)] for m in top_self],
        ),
        "",
        "Self time per package:",
        "",
        md_table(
            ["package", "self ms", "share"],
            [[f"`{pkg}`", fmt_ms(us / 1000), f"{us / total_us:.0%}"] for pkg, us in packages[:12]],
        ),
        "",
        "## `python -X importtime stigmer version`, top 5 by cumulative time",
        "",
        _cumulative_table(profiles["version"], 5),
    ]
    return data, "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command (default 20)")
    parser.add_argument("--warmups", type=int, default=2, help="untimed runs first (default 2)")
    parser.add_argument("--importtime-runs", type=int, default=5, help="importtime runs (default 5)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-startup-") as tmp:
        home = Path(tmp) / "home"
        prepare_home(home)
        many = Path(tmp) / "many"
        log(f"startup: a home of {AGENTS:,} agents")
        prepare_agents(many, AGENTS)
        # As a user runs it: with the bytecode cache (a shell may turn writing it off).
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        env = env_with_home(home)
        envs = {"": env, GET_AGENTS: env_with_home(many)}
        log(f"startup: {args.warmups} warm-ups + {args.runs} runs of {len(COMMANDS)} commands")
        samples, cpu = measure(envs, runs=args.runs, warmups=args.warmups)
        log(f"startup: the steps of get agents x{args.importtime_runs}")
        steps = phases(envs[GET_AGENTS], runs=args.importtime_runs)
        log(f"startup: importtime x{args.importtime_runs}")
        profiles = {
            "get agents": import_times(envs[GET_AGENTS], ["get", "agents"], runs=args.importtime_runs),
            "version": import_times(env, ["version"], runs=args.importtime_runs),
        }
    data, md = report(samples, cpu, profiles, steps)
    data["params"] = {"runs": args.runs, "warmups": args.warmups, "importtime_runs": args.importtime_runs}
    json_path, md_path = write_results("startup", data, md)
    print(md)
    log(f"startup: wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
