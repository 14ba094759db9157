"""Several `stigmer server` processes on one PostgreSQL database serve the same clients: no
update is lost between them, and a run whose server dies is finished by another."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import ExecutionEvent, ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.remote import RemoteBackend
from stigmer.backend.wire import unpack_execution
from stigmer.errors import StigmerError, Unauthenticated
from tests.cli.helpers import EXECUTABLE, Stigmer, workdir, write
from tests.server.conftest import logged_in, server_home
from tests.server.harness import ServerProcess, trust_fixtures
from tests.server.test_concurrency import clients_lose_no_update
from tests.server.test_policy import RUN_ID, _configure, _file
from tests.server.test_restart import _agent, _latest_id, _tools, _wait_for


@pytest.fixture
def servers(tmp_path: Path, postgres_url: str) -> Iterator[tuple[ServerProcess, ServerProcess, str]]:
    """Two servers of two homes on one PostgreSQL database (not started), and an admin key.

    One is told the database with --database, the other with STIGMER_DATABASE_URL; the
    second home holds a copy of the first one's master key, as docs/deploy.md says.
    """
    first, second = server_home(tmp_path / "a"), server_home(tmp_path / "b")
    key = first("server", "keys", "create", "admin", "--database", postgres_url).out.strip()
    first("env", "create", "sealed", "--secret", "TOKEN=s3cret", env={"STIGMER_DATABASE_URL": postgres_url})
    second.home.mkdir(parents=True, exist_ok=True)
    shutil.copy2(first.home / "master.key", second.home / "master.key")
    lease = {"STIGMER_LEASE_SECONDS": "5"}
    a = ServerProcess(first, "--database", postgres_url, env=lease)
    b = ServerProcess(second, env={**lease, "STIGMER_DATABASE_URL": postgres_url})
    try:
        yield a, b, key
    finally:
        a.stop()
        b.stop()


def test_clients_spread_over_two_servers_lose_no_update(
    servers: tuple[ServerProcess, ServerProcess, str],
) -> None:
    a, b, key = servers
    a.args.append("--no-worker")
    b.args.append("--no-worker")
    a.start()
    b.start()

    clients_lose_no_update([a.url, b.url], key, a.home.env())

    # Both serve one store: what one sealed, the other opens with the shared master key.
    remote = RemoteBackend(b.url, token=key)
    try:
        assert remote.reveal_secret("sealed", "TOKEN") == "s3cret"
    finally:
        remote.close()
    assert "database: postgresql://stigmer@127.0.0.1" in a.output()
    assert a.output().split("database: ", 1)[1].splitlines()[0].endswith(" (postgresql)")
    # Through either server, a client sees the store they share.
    for url in (a.url, b.url):
        remote = RemoteBackend(url, token=key)
        try:
            info = remote.info()
        finally:
            remote.close()
        assert (info.type, info.store) == ("remote", "postgresql")


def _watch(url: str, key: str, execution_id: str, after: int, seen: list[ExecutionEvent]) -> None:
    """Follow a run through one server until it finishes or the server goes away."""
    remote = RemoteBackend(url, token=key)
    try:
        for event in remote.watch_execution(execution_id, after_sequence=after):
            seen.append(event)
    except StigmerError:
        pass  # the server died: the caller resumes elsewhere
    finally:
        remote.close()


def _steps(events: list[ExecutionEvent]) -> list[tuple[str, int]]:
    return [(e.step.name, e.sequence) for e in events if e.HasField("step")]


def remote_steps(server: ServerProcess, key: str, execution_id: str) -> list[ExecutionStep]:
    remote = RemoteBackend(server.url, token=key)
    try:
        return remote.list_steps(execution_id)
    finally:
        remote.close()


SLOW = [
    {"toolCalls": [{"name": "find_order", "arguments": {"id": "A-1"}}]},
    {"toolCalls": [{"name": "sleep", "arguments": {"seconds": 3}}]},
    {"text": "Found and slept."},
]


def test_a_key_revoked_through_one_server_is_refused_by_the_other_at_once(
    servers: tuple[ServerProcess, ServerProcess, str],
) -> None:
    a, b, key = servers
    for server in (a, b):
        server.args.append("--no-worker")
        server.start()
    admin = RemoteBackend(a.url, token=key)
    _, bob_key = admin.create_api_key("bob", "viewer")
    bob = RemoteBackend(b.url, token=bob_key)
    try:
        assert bob.info().api_key == "bob"  # checked by b (and remembered there, were it cached)
        admin.revoke_api_key("bob")

        with pytest.raises(Unauthenticated, match="refused"):
            bob.info()
        assert _caller(a.url, bob_key) is None
        assert _caller(b.url, key) == "admin"  # the other keys still pass
    finally:
        bob.close()
        admin.close()


def _caller(url: str, token: str) -> str | None:
    """The key name a server says a call with ``token`` came from; None if it refused it."""
    remote = RemoteBackend(url, token=token)
    try:
        return remote.info().api_key
    except Unauthenticated:
        return None
    finally:
        remote.close()


def test_a_killed_server_s_run_is_finished_by_the_other_and_its_watcher_resumes_there(
    servers: tuple[ServerProcess, ServerProcess, str], tmp_path: Path
) -> None:
    a, b, key = servers
    a.start()
    client = logged_in(tmp_path, a, key)
    log = tmp_path / "tools.log"
    client("apply", "-f", write(client.cwd / "slow.json", _agent("slow", SLOW, log)))
    client("agent", "execute", "slow", "Find A-1, then sleep", "--detach")
    execution_id = _latest_id(client)
    seen: list[ExecutionEvent] = []
    watcher = threading.Thread(target=_watch, args=(a.url, key, execution_id, 0, seen))
    watcher.start()
    _wait_for("the second tool call", lambda: _tools(log) == ["find_order", "sleep"])

    b.start()
    a.kill()  # mid-call: find_order is recorded, sleep is not
    watcher.join(30)
    assert not watcher.is_alive()
    before = [e.sequence for e in seen]
    _watch(b.url, key, execution_id, before[-1], seen)

    remote = RemoteBackend(b.url, token=key)
    try:
        done = remote.get_execution(execution_id)
        replay = list(remote.watch_execution(execution_id))
    finally:
        remote.close()
    assert isinstance(done, AgentExecution)
    assert done.status.phase == ExecutionPhase.COMPLETED
    assert done.status.messages[-1].content == "Found and slept."
    # Every event once: those seen through the dead server, then the rest through the live one,
    # in order; the steps exactly those a watch of the finished run replays.
    sequences = [e.sequence for e in seen]
    assert sequences == sorted(set(sequences))
    assert len(before) < len(sequences)
    assert _steps(seen) == _steps(replay)
    assert [s.name for s in remote_steps(b, key, execution_id)] == [step for step, _ in _steps(replay)]
    final = [unpack_execution(e.execution) for e in seen if e.HasField("execution")][-1]
    assert final.status.phase == ExecutionPhase.COMPLETED
    # The completed call was not repeated; the one in flight when the server died ran again.
    assert _tools(log) == ["find_order", "sleep", "sleep"]


def test_a_worker_elsewhere_runs_what_a_server_queued_on_the_shared_database(
    servers: tuple[ServerProcess, ServerProcess, str], tmp_path: Path, postgres_url: str
) -> None:
    a, b, key = servers
    a.args.append("--no-worker")
    a.start()
    client = logged_in(tmp_path, a, key)
    log = tmp_path / "tools.log"
    quick = [{"toolCalls": [{"name": "find_order", "arguments": {"id": "A-2"}}]}, {"text": "Found."}]
    client("apply", "-f", write(client.cwd / "quick.json", _agent("quick", quick, log)))
    client("agent", "execute", "quick", "Find A-2", "--detach")
    execution_id = _latest_id(client)

    # The second home is another machine: its worker reaches the database, not the server, and
    # follows the policy of a server's worker (its home's `server:` settings, strict by default).
    trust_fixtures(b.home)
    worker = subprocess.Popen(
        [str(EXECUTABLE), "worker", "--database", postgres_url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=b.home.env({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}),
        cwd=b.home.cwd,
    )
    try:
        logs = client("execution", "logs", execution_id, "-f")
    finally:
        worker.send_signal(signal.SIGTERM)
        _, said = worker.communicate(timeout=30)

    assert logs.out == "Found.\n"
    assert logs.err.splitlines()[-1] == "— COMPLETED"
    assert _tools(log) == ["find_order"]
    assert "waiting for executions in postgresql://stigmer@127.0.0.1" in said


def test_a_worker_on_the_shared_database_follows_the_server_policy(tmp_path: Path, postgres_url: str) -> None:
    home = server_home(tmp_path)
    _configure(home, {"python": {"allowedModules": ["subprocess"]}})
    editor = home("server", "keys", "create", "ed", "--role", "editor", "--database", postgres_url)
    server = ServerProcess(home, "--no-worker", "--database", postgres_url, trusting=False).start()
    try:
        client = logged_in(tmp_path, server, editor.out.strip())
        client("apply", "-f", _file(client, "r.yaml", RUN_ID))
        boxes: list[tuple[str, dict[str, object], str]] = [
            ("strict-box", {}, "FAILED"),  # nothing said: strict, as on a server
            ("trusted-box", {"python": {"allowedModules": ["subprocess"]}}, "COMPLETED"),
        ]
        for name, settings, phase in boxes:
            box = Stigmer(tmp_path / name, workdir(tmp_path / f"{name}-work"))
            _configure(box, settings)
            process = box.start("worker", "--database", postgres_url)
            try:
                result = client("workflow", "execute", "run-id", "-o", "json", check=False)
            finally:
                process.terminate()
                process.communicate(timeout=30)
            assert json.loads(result.out)["status"]["phase"] == phase, result
            assert ("uid=" in result.out) == (phase == "COMPLETED")
            if phase == "FAILED":
                assert "server.python.allowedModules" in result.out + result.err
    finally:
        server.stop()
