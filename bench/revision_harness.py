"""One measured workload of a checkout, run by ``compare_revisions.py`` under callgrind.

Usage: ``python bench/revision_harness.py TREE WORKLOAD COUNT``. ``TREE`` is the root of
the checkout whose code runs (its ``src/`` and its own ``bench/`` harnesses: this file may
belong to another revision); ``WORKLOAD`` is ``agent`` (turns of one agent execution),
``fan-out`` or ``chain`` (tasks of one workflow execution), or ``get`` (``LocalBackend.get``
calls); ``COUNT`` how many units the measured part runs. Everything before the measured part
(imports, migrations, warm-up runs of every size) is the same whatever ``COUNT``, so two runs
that differ only in ``COUNT`` differ only by its units' work.
"""

from __future__ import annotations

import inspect
import sys
import tempfile
from pathlib import Path
from typing import Any

SIZES = {"agent": (10, 210), "fan-out": (10, 510), "chain": (10, 510), "get": (0, 30)}
GET_NAMES = 100  # agents in the store; a get unit is one pass over all of them


def _backend(local: Any, tmp: Path, actor: str) -> Any:
    backend_cls = local.LocalBackend
    # Older revisions hard-code `normal`; newer ones take it: compare at the same setting.
    params = inspect.signature(backend_cls.open).parameters
    kwargs = {"durability": "normal"} if "durability" in params else {}
    return backend_cls.open(tmp / "local.db", actor=actor, **kwargs)


def main(tree: Path, workload: str, count: int) -> None:
    sys.path[:0] = [str(tree / "src"), str(tree)]
    from stigmer.backend import local  # the tree's own code, imported after the path is set

    tmp = Path(tempfile.mkdtemp(prefix="stigmer-rev-"))
    sizes = SIZES[workload]
    if workload == "agent":
        from bench import bench_agent as ba
        from stigmer.resources.decode import decode
        from stigmer.resources.documents import Document

        backend = _backend(local, tmp, ba.ACTOR)
        backend.apply([decode(Document("bench", n, ba.agent_doc(f"agent-{n}", n))) for n in sizes])
        meter = ba.Meter()
        with ba.patched_runner(meter):
            for _ in range(2):
                for n in sizes:
                    ba.run_once(backend, f"agent-{n}", n, meter)
            ba.run_once(backend, f"agent-{count}", count, meter)
    elif workload in ("fan-out", "chain"):
        from bench import bench_workflow as bw

        backend = _backend(local, tmp, "bench")
        shapes = {n: bw.Shape(workload, n) for n in sizes}
        bw.apply_docs(backend, [shape.document() for shape in shapes.values()])
        for _ in range(2):
            for shape in shapes.values():
                bw.run_once(backend, shape, None)
        bw.run_once(backend, shapes[count], None)
    else:
        from stigmer.api.agent.v1.agent_pb2 import Agent

        backend = _backend(local, tmp, "bench")
        names = [f"agent-{i}" for i in range(GET_NAMES)]
        for name in names:
            agent = Agent()
            agent.metadata.name = name
            agent.spec.instructions = "You help. " * 20
            agent.spec.model.provider = "scripted"
            backend.create(agent)
        for name in names:
            backend.get(Agent, name)
        for _ in range(count):
            for name in names:
                backend.get(Agent, name)
    backend.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
