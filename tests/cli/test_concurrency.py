"""Several processes writing one home at once: no lost update, no "database is locked"."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from stigmer.store.migrations import LATEST

from .helpers import EXAMPLE_LABELS, Stigmer, skill_yaml, write

WORKERS = 3
UPDATES = 20

# One process: read the skill, add a label of its own, write it back; on Conflict (someone
# else wrote first), read again and retry. It says "ready" and waits for a line on stdin, so
# all workers start their loops together; at the end it prints how many conflicts it met.
READ_MODIFY_WRITE = textwrap.dedent(
    """
    import sys
    from stigmer.api.skill.v1.skill_pb2 import Skill
    from stigmer.backend.local import LocalBackend
    from stigmer.errors import Conflict

    database, worker, updates = sys.argv[1], sys.argv[2], int(sys.argv[3])
    backend = LocalBackend.open(database)
    conflicts = 0
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        for i in range(updates):
            for _ in range(1000):
                skill = backend.get(Skill, "counter")
                skill.metadata.labels[f"{worker}-{i}"] = "done"
                try:
                    backend.update(skill)
                    break
                except Conflict:
                    conflicts += 1
            else:
                sys.exit(f"{worker}: update {i} never went through")
    finally:
        backend.close()
    print(conflicts)
    """
)


def test_concurrent_read_modify_write_loses_no_update(stigmer: Stigmer) -> None:
    write(stigmer.cwd / "counter.yaml", skill_yaml("counter"))
    stigmer("apply", "-f", "counter.yaml")

    workers = [
        subprocess.Popen(
            [sys.executable, "-c", READ_MODIFY_WRITE, str(stigmer.database), f"w{n}", str(UPDATES)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=stigmer.env(),
        )
        for n in range(WORKERS)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline() == "ready\n"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    outputs = [worker.communicate(timeout=90) for worker in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert "database is locked" not in out + err
        assert out.strip().isdigit(), out

    skill = stigmer.resource("skill", "counter")
    expected = {f"w{n}-{i}": "done" for n in range(WORKERS) for i in range(UPDATES)}
    assert skill["metadata"]["labels"] == expected
    assert skill["metadata"]["version"] == 1 + WORKERS * UPDATES
    history = stigmer("history", "skill", "counter", "-o", "json").json()
    assert [e["spec"]["version"] for e in history] == list(range(1, 2 + WORKERS * UPDATES))


def test_concurrent_applies_into_a_fresh_home(stigmer: Stigmer) -> None:
    # No `init`: every process races to create the database, switch it to WAL and migrate it.
    directories = ["agents", "environments", "mcpservers", "skills", "workflows"]
    processes = [stigmer.start("apply", "-f", f"examples/{d}") for d in directories]
    outputs = [p.communicate(timeout=90) for p in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert "locked" not in err
        assert out.endswith("created\n")

    reported = sorted(line for out, _ in outputs for line in out.splitlines())
    assert reported == sorted(f"{label} created" for label in EXAMPLE_LABELS)
    assert stigmer("apply", "-f", "examples/").lines() == [f"{label} unchanged" for label in EXAMPLE_LABELS]
    assert stigmer("backend", "status", "-o", "json").json()["schemaVersion"] == LATEST


def test_concurrent_cli_writers_of_one_resource(stigmer: Stigmer) -> None:
    # Whole-resource writes through the CLI: each apply wins whole, none fails or corrupts.
    for n in range(4):
        write(stigmer.cwd / f"tone-{n}.yaml", skill_yaml("tone", f"Version {n}."))
    stigmer("apply", "-f", "tone-0.yaml")
    processes = [stigmer.start("apply", "-f", f"tone-{n}.yaml") for n in range(4) for _ in range(2)]
    outputs = [p.communicate(timeout=90) for p in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    skill = stigmer.resource("skill", "tone")
    history = stigmer("history", "skill", "tone", "-o", "json").json()
    assert [e["spec"]["version"] for e in history] == list(range(1, skill["metadata"]["version"] + 1))
    assert history[-1]["spec"]["snapshot"]["spec"]["content"] == skill["spec"]["content"]
    configured = sum(out.count("configured") for out, _ in outputs)
    assert skill["metadata"]["version"] == 1 + configured
