"""Two revisions' hot paths side by side, in counts a busy machine does not change.

Wall time on a 2-core machine shared with other work moves by more than the 5 % a refactor
must stay within; two counts do not:

- **instructions** (callgrind's ``Ir``) per unit of work: an agent turn, a workflow task
  (fan-out and chain of ``set`` tasks), or one ``LocalBackend.get``;
- **write system calls** (``pwrite64``, ``write``, ``fdatasync``, ``fsync``, from
  ``strace -c``) per unit: the pages SQLite writes, which instruction counts do not see
  (a status write that also rewrote three indexes cost 6 more page writes per agent turn).

Each count is the difference between two runs of ``revision_harness.py`` that differ only
in how many units they run, divided by the units: start-up, migrations and warm-up cancel
out. Both revisions run on this venv's interpreter and libraries, at ``durability: normal``
(older revisions hard-code it), with their own ``src/`` and ``bench/`` harnesses. The base is
checked out in a temporary git worktree; the head is this checkout as it is (uncommitted
changes included) unless ``--head`` names a revision.

Needs ``valgrind`` and ``strace``. Writes ``bench/results/revisions.{json,md}``.

    .venv/bin/python bench/compare_revisions.py --base 8c42c93
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python bench/compare_revisions.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import ROOT, log, md_table, write_results
from bench.revision_harness import GET_NAMES, SIZES

HARNESS = Path(__file__).with_name("revision_harness.py")
WRITE_CALLS = ("pwrite64", "write", "fdatasync", "fsync")
UNITS = {"agent": "turn", "fan-out": "task", "chain": "task", "get": "get"}


@contextmanager
def checkout(rev: str | None) -> Iterator[Path]:
    """The tree of ``rev`` (a temporary worktree), or this checkout when ``rev`` is None."""
    if rev is None:
        yield ROOT
        return
    where = Path(tempfile.mkdtemp(prefix="stigmer-rev-")) / "tree"
    add = ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), rev]
    subprocess.run(add, check=True, capture_output=True)
    try:
        yield where
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where)], check=False)
        shutil.rmtree(where.parent, ignore_errors=True)


def _harness(tree: Path, workload: str, count: int) -> list[str]:
    return [sys.executable, str(HARNESS), str(tree), workload, str(count)]


def instructions(tree: Path, workload: str, count: int) -> int:
    """Instructions (``Ir``) callgrind counts for one harness run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *_harness(tree, workload, count)],
            capture_output=True,
            text=True,
            check=False,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"{workload} in {tree} failed under callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def write_syscalls(tree: Path, workload: str, count: int) -> int:
    """Write and sync system calls (``strace -c``) of one harness run, its threads included."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "strace.txt"
        done = subprocess.run(
            ["strace", "-f", "-c", "-o", str(out), *_harness(tree, workload, count)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{workload} in {tree} failed under strace:\n{done.stderr[-2000:]}")
        total = 0
        for line in out.read_text().splitlines():
            fields = line.split()
            if fields and fields[-1] in WRITE_CALLS and fields[3].isdigit():
                total += int(fields[3])
    return total


def per_unit(tree: Path, workload: str) -> dict[str, float]:
    """Instructions and write calls per unit of ``workload`` in ``tree``."""
    small, big = SIZES[workload]
    units = (big - small) * (GET_NAMES if workload == "get" else 1)
    ir = instructions(tree, workload, big) - instructions(tree, workload, small)
    writes = write_syscalls(tree, workload, big) - write_syscalls(tree, workload, small)
    return {"instructions": ir / units, "writes": writes / units}


def report(base: str, head: str, results: dict[str, dict[str, dict[str, float]]]) -> str:
    rows = []
    for workload, by_tree in results.items():
        b, h = by_tree["base"], by_tree["head"]
        rows.append(
            [
                f"{workload} (per {UNITS[workload]})",
                f"{b['instructions'] / 1e3:,.0f} k",
                f"{h['instructions'] / 1e3:,.0f} k",
                f"{h['instructions'] / b['instructions']:.3f}x",
                f"{b['writes']:.1f}",
                f"{h['writes']:.1f}",
            ]
        )
    table = md_table(
        ["workload", "base instructions", "head instructions", "ratio", "base writes", "head writes"], rows
    )
    return (
        f"# Revisions compared: {base} (base) and {head} (head)\n\n"
        "Instructions (callgrind `Ir`) and write system calls (`pwrite64`, `write`, `fdatasync`, "
        "`fsync`) per unit of work, each the difference of two runs that differ only in how many "
        "units they run; both at `durability: normal`, on the same interpreter and libraries. "
        "Load on the machine does not change these counts; wall time is in the other benchmarks.\n\n"
        f"{table}\n"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the revision compared against (commit, tag, branch)")
    parser.add_argument("--head", default=None, help="the revision measured (default: this checkout as is)")
    parser.add_argument("--parts", default=",".join(SIZES), help="comma-separated: " + ",".join(SIZES))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = [p for p in parts if p not in SIZES]
    if unknown:
        choices = ", ".join(SIZES)
        raise SystemExit(f"compare_revisions: unknown part(s) {', '.join(unknown)}; choose from {choices}")
    missing = [tool for tool in ("valgrind", "strace") if shutil.which(tool) is None]
    if missing:
        tools = " ".join(missing)
        raise SystemExit(f"compare_revisions: needs {tools} (on Debian: apt-get install {tools})")
    results: dict[str, dict[str, dict[str, float]]] = {p: {} for p in parts}
    with checkout(args.base) as base_tree, checkout(args.head) as head_tree:
        for part in parts:
            for side, tree in (("base", base_tree), ("head", head_tree)):
                log(f"revisions: {part} on {side}")
                results[part][side] = per_unit(tree, part)
    head = args.head or "this checkout"
    markdown = report(args.base, head, results)
    data: dict[str, Any] = {"base": args.base, "head": head, "per_unit": results}
    write_results("revisions", data, markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
