"""Shared helpers of the benchmarks: timing, statistics, machine info and result files.

Every benchmark measures its baseline in the same run and reports ratios against it, then
writes ``bench/results/<name>.json`` (raw numbers and machine info) and
``bench/results/<name>.md`` (a short summary). File names carry no timestamps: each run
overwrites the previous one, so the files can be committed and diffed.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
EXAMPLES_DIR = ROOT / "examples"
# The console script, run with this very interpreter (sys.executable), never a PATH shim.
STIGMER_SCRIPT = Path(sys.executable).parent / "stigmer"


@dataclass(frozen=True)
class Stats:
    """Summary of a list of durations, in milliseconds."""

    n: int
    median_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float
    mean_ms: float

    def ratio(self, baseline: Stats) -> float:
        """Median over the baseline's median."""
        return self.median_ms / baseline.median_ms if baseline.median_ms > 0 else math.inf


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not sorted_values:
        return math.nan
    pos = (len(sorted_values) - 1) * q / 100
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def stats(seconds: Sequence[float]) -> Stats:
    """Median, p90, p99, min, max and mean of durations given in seconds."""
    ms = sorted(s * 1000 for s in seconds)
    return Stats(
        n=len(ms),
        median_ms=statistics.median(ms),
        p90_ms=percentile(ms, 90),
        p99_ms=percentile(ms, 99),
        min_ms=ms[0],
        max_ms=ms[-1],
        mean_ms=statistics.fmean(ms),
    )


def stats_dict(seconds: Sequence[float]) -> dict[str, Any]:
    """Stats plus the raw samples (ms), for the JSON results."""
    return {**asdict(stats(seconds)), "samples_ms": [round(s * 1000, 4) for s in seconds]}


def settle() -> None:
    """Collect garbage and freeze what survives, so set-up objects do not slow timed code."""
    gc.collect()
    gc.freeze()


def time_calls(fn: Callable[[], object], *, runs: int, warmups: int = 0) -> list[float]:
    """Call ``fn`` ``warmups`` times untimed, then ``runs`` times; the durations in seconds."""
    for _ in range(warmups):
        fn()
    durations: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - start)
    return durations


def run_checked(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    """Run a command (output discarded); its wall time in seconds. Raises if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(cmd), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}"
        )
    return elapsed


def stigmer_cmd(*args: str) -> list[str]:
    """The argv that runs the installed `stigmer` console script with this interpreter."""
    if not STIGMER_SCRIPT.exists():
        raise SystemExit(f"{STIGMER_SCRIPT} not found: run the benchmarks with .venv/bin/python")
    return [sys.executable, str(STIGMER_SCRIPT), *args]


def env_with_home(home: Path) -> dict[str, str]:
    """The current environment with STIGMER_HOME pointing at ``home``."""
    env = dict(os.environ)
    env["STIGMER_HOME"] = str(home)
    return env


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.strip()


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    from google.protobuf.internal import api_implementation

    from stigmer.version import __version__

    return {
        "cpu_count": os.cpu_count(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "sqlite_version": sqlite3.sqlite_version,
        "protobuf_implementation": api_implementation.Type(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "stigmer_version": __version__,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--", "src")),
        # Other processes on the machine inflate the tails (p90, p99): this says how busy it was.
        "load_average_1_5_15": list(os.getloadavg()),
    }


def machine_line(info: dict[str, Any]) -> str:
    """One Markdown line describing the machine."""
    dirty = " (src/ modified)" if info["git_dirty"] else ""
    return (
        f"Machine: {info['cpu_count']} CPUs, Python {info['python_version']}, "
        f"SQLite {info['sqlite_version']}, protobuf {info['protobuf_implementation']}, "
        f"{info['platform']}; stigmer {info['stigmer_version']} at "
        f"`{str(info['git_commit'])[:12]}`{dirty}; load average at the end "
        f"{', '.join(f'{x:.2f}' for x in info['load_average_1_5_15'])}."
    )


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt_ms(value: float) -> str:
    """Milliseconds with precision that suits their size."""
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def write_results(name: str, data: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    """Write ``results/<name>.json`` and ``results/<name>.md``; return both paths."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    json_path = RESULTS_DIR / f"{name}.json"
    md_path = RESULTS_DIR / f"{name}.md"
    payload = {"benchmark": name, "machine": machine_info(), **data}
    json_path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    md = markdown.rstrip("\n") + "\n\n" + machine_line(payload["machine"]) + "\n"
    md_path.write_text(md, encoding="utf-8")
    return json_path, md_path


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)


__all__ = [
    "BENCH_DIR",
    "EXAMPLES_DIR",
    "RESULTS_DIR",
    "ROOT",
    "STIGMER_SCRIPT",
    "Stats",
    "env_with_home",
    "fmt_ms",
    "log",
    "machine_info",
    "machine_line",
    "md_table",
    "percentile",
    "run_checked",
    "settle",
    "stats",
    "stats_dict",
    "stigmer_cmd",
    "time_calls",
    "write_results",
]
