"""The public path of a run against the engine's own: per task of a chain workflow, and the
fixed cost of a one-turn agent run.

Each workflow (a chain of ``set`` tasks, as in bench_workflow.py) runs to its end through:

- ``run_claimed`` (the engine, the reference),
- ``Client.workflows.execute`` and ``AsyncClient.workflows.execute`` (the SDK),
- ``stigmer workflow execute -o json`` in a new process (the CLI; its start-up included, so
  its figure is reported both whole and after subtracting a one-task run's time).

Usage: ``.venv/bin/python bench/bench_drive.py [--size 500] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_workflow import WORKER, apply_docs, chain_tasks, new_execution, workflow_doc
from stigmer.backend.local import LocalBackend
from stigmer.engine import local as engine
from stigmer.sdk.aio import AsyncClient
from stigmer.sdk.client import Client

STIGMER = str(Path(sys.executable).parent / "stigmer")


def timed(run: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        out.append(time.perf_counter() - started)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=500, help="tasks in the chain (default 500)")
    parser.add_argument("--runs", type=int, default=3, help="runs per path (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        os.environ["STIGMER_HOME"] = str(home)
        subprocess.run([STIGMER, "init"], check=True, capture_output=True, env={**os.environ})
        backend = LocalBackend.open(home / "local.db", actor="bench")
        name, one = f"chain-{args.size}", "chain-1"
        apply_docs(
            backend,
            [
                workflow_doc(name, chain_tasks(args.size), {"v": f"${{tasks.t{args.size - 1}.outputs.v}}"}),
                workflow_doc(one, chain_tasks(1)),
            ],
        )

        def claimed() -> None:
            execution_id = new_execution(backend, name)
            asyncio.run(engine.run_claimed(backend, execution_id, worker_id=WORKER))

        client = Client(backend=backend)

        def sync_client() -> None:
            client.workflows.execute(name)

        def async_client() -> None:
            async def go() -> None:
                aclient = AsyncClient(backend=backend)
                await aclient.workflows.execute(name)

            asyncio.run(go())

        def cli(workflow: str) -> Callable[[], None]:
            def go() -> None:
                subprocess.run(
                    [STIGMER, "workflow", "execute", workflow, "-o", "json"],
                    check=True,
                    capture_output=True,
                    env={**os.environ, "STIGMER_HOME": str(home)},
                )

            return go

        results = {
            "run_claimed (engine)": timed(claimed, args.runs),
            "Client.workflows.execute": timed(sync_client, args.runs),
            "AsyncClient.workflows.execute": timed(async_client, args.runs),
            "stigmer workflow execute": timed(cli(name), args.runs),
        }
        cli_one = statistics.median(timed(cli(one), args.runs))
    reference = statistics.median(results["run_claimed (engine)"]) / args.size * 1000
    print(f"chain of {args.size} set tasks, median of {args.runs} runs, ms per task:")
    for label, seconds in results.items():
        per_task = statistics.median(seconds) / args.size * 1000
        print(f"  {label:32s} {per_task:7.3f}  ({per_task / reference:5.2f}x run_claimed)")
    net = (statistics.median(results["stigmer workflow execute"]) - cli_one) / (args.size - 1) * 1000
    print(
        f"  {'stigmer workflow execute, net':32s} {net:7.3f}  ({net / reference:5.2f}x run_claimed)"
        f"  (minus a one-task run: {cli_one:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
