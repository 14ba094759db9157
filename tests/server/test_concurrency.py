"""Eight client processes writing through one server at once: no lost update, no error
(and through two servers on one PostgreSQL database: tests/server/test_several_servers.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.backend.remote import RemoteBackend
from tests.builders import skill
from tests.server.harness import ServerProcess

REPO = Path(__file__).resolve().parents[2]
CLIENTS = 8
UPDATES = 6

# One client: create a skill of its own, then, UPDATES times, read-modify-write the shared
# skill (add a label of its own; on Conflict read again and retry) and update its own skill.
# It says "ready", waits for a line on stdin so all start together, and prints its conflicts.
CLIENT = textwrap.dedent(
    """
    import sys
    from stigmer.api.skill.v1.skill_pb2 import Skill
    from stigmer.backend.remote import RemoteBackend
    from stigmer.errors import Conflict
    from tests.builders import skill

    url, token, me, updates = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    backend = RemoteBackend(url, token=token)
    backend.create(skill(me, "# Mine"))
    conflicts = 0
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        for i in range(updates):
            for _ in range(1000):
                shared = backend.get(Skill, "counter")
                shared.metadata.labels[f"{me}-{i}"] = "done"
                try:
                    backend.update(shared)
                    break
                except Conflict:
                    conflicts += 1
            else:
                sys.exit(f"{me}: update {i} never went through")
            mine = backend.get(Skill, me)
            mine.spec.content = f"# Mine, version {i + 2}"
            backend.update(mine)
    finally:
        backend.close()
    print(conflicts)
    """
)


def test_concurrent_clients_lose_no_update(served: tuple[ServerProcess, str]) -> None:
    server, key = served
    clients_lose_no_update([server.url], key, server.home.env())


def clients_lose_no_update(urls: list[str], key: str, env: dict[str, str]) -> None:
    """CLIENTS client processes, spread over the servers at ``urls``, run CLIENT at once:
    every update of the shared skill is kept, in contiguous versions."""
    admin = RemoteBackend(urls[0], token=key)
    admin.create(skill("counter"))

    clients = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, urls[n % len(urls)], key, f"c{n}", str(UPDATES)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "PYTHONPATH": str(REPO)},
        )
        for n in range(CLIENTS)
    ]
    try:
        for client in clients:
            assert client.stdout is not None
            assert client.stdout.readline() == "ready\n"
        for client in clients:
            assert client.stdin is not None
            client.stdin.write("go\n")
            client.stdin.flush()
        outputs = [client.communicate(timeout=60) for client in clients]
    finally:
        for client in clients:
            client.kill()
    for client, (out, err) in zip(clients, outputs, strict=True):
        assert client.returncode == 0, err
        assert err == ""
        assert out.strip().isdigit(), out

    shared = admin.get(Skill, "counter")
    assert dict(shared.metadata.labels) == {
        f"c{n}-{i}": "done" for n in range(CLIENTS) for i in range(UPDATES)
    }
    assert shared.metadata.version == 1 + CLIENTS * UPDATES
    assert [v.spec.version for v in admin.history(Skill, "counter")] == list(range(1, 2 + CLIENTS * UPDATES))
    for n in range(CLIENTS):
        mine = admin.get(Skill, f"c{n}")
        assert (mine.metadata.version, mine.spec.content) == (1 + UPDATES, f"# Mine, version {UPDATES + 1}")
    admin.close()
