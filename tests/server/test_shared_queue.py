"""Workers in several processes claim from one queue on PostgreSQL: each run is taken by one
of them, once, while they claim at the same time (rows another claimer holds are skipped)."""

from __future__ import annotations

import re
from pathlib import Path

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import ExecutionQuery
from tests.cli.helpers import Stigmer, workdir, write
from tests.server.harness import trust_fixtures
from tests.server.test_restart import _agent, _tools, _wait_for

RUNS = 8
QUICK = [{"toolCalls": [{"name": "find_order", "arguments": {"id": "A-3"}}]}, {"text": "Found."}]
ENDED = (ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED)
_RAN = re.compile(r"(COMPLETED|FAILED)\b.*\b(aex_\w+)")


def test_two_worker_processes_on_one_queue_run_every_run_once(tmp_path: Path, postgres_url: str) -> None:
    home = Stigmer(tmp_path / "home", workdir(tmp_path / "work"))
    trust_fixtures(home)  # the workers follow a server's policy: these stdio tools are allowed
    log = tmp_path / "tools.log"
    on_db = {"STIGMER_DATABASE_URL": postgres_url}
    home("apply", "-f", write(home.cwd / "quick.json", _agent("quick", QUICK, log)), env=on_db)
    for i in range(RUNS):
        home("agent", "execute", "quick", f"Find A-3 ({i})", "--detach", env=on_db)

    # Both start on a full queue, and claim from it at once.
    # (What they print is a few lines a run: it fits the pipes until they are read at the end.)
    workers = [home.start("worker", "--database", postgres_url, "--concurrency", "2") for _ in range(2)]
    said: list[str] = []
    backend = LocalBackend.open(postgres_url)
    try:

        def finished() -> bool:
            runs = backend.list_executions(ExecutionQuery()).items
            return len(runs) == RUNS and all(r.status.phase in ENDED for r in runs)

        _wait_for("every run to finish", finished, timeout=120)
        runs = backend.list_executions(ExecutionQuery()).items
    finally:
        backend.close()
        for worker in workers:
            worker.terminate()
        said = [worker.communicate(timeout=30)[1] for worker in workers]

    ran = [[m.group(2) for m in map(_RAN.search, text.splitlines()) if m] for text in said]
    everything = sorted(r.metadata.id for r in runs)
    assert sorted(ran[0] + ran[1]) == everything, said  # each run by one worker, once
    assert ran[0] and ran[1], said  # and both took their share
    assert {r.status.phase for r in runs} == {ExecutionPhase.COMPLETED}, [r.status.error for r in runs]
    assert _tools(log) == ["find_order"] * RUNS  # no tool ran twice
