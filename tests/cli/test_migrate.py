"""`stigmer migrate`: a home's store moves to PostgreSQL and back, exactly, secrets still sealed;
a target that holds anything is refused untouched."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg

from .helpers import LISTED_KINDS, Stigmer, create_executions, write

GREETER = {
    "apiVersion": "agentic.stigmer.ai/v1",
    "kind": "Agent",
    "metadata": {"name": "greeter"},
    "spec": {
        "instructions": "Greet.",
        "model": {"provider": "scripted", "options": {"script": [{"text": "Hi!"}]}},
    },
}


def _filled(home: Stigmer) -> str:
    """Examples, a second version, a sealed secret, an API key, pending runs and a finished one."""
    home("apply", "-f", "examples/")
    skill_file = home.cwd / "examples" / "skills" / "refund-policy.yaml"
    skill_file.write_text(skill_file.read_text().replace("30 days", "60 days"))
    home("apply", "-f", "examples/skills")
    home("env", "create", "prod", "--secret", "TOKEN=tok-123456")
    home("server", "keys", "create", "ci", "--role", "runner")
    create_executions(home)
    home("apply", "-f", write(home.cwd / "greeter.json", json.dumps(GREETER)))
    home("agent", "execute", "greeter", "Hello")
    return str(home("execution", "list", "-o", "json").json()[0]["metadata"]["id"])


def _shown(home: Stigmer, run: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """What a user sees of every kind, history, runs, a run's transcript, a secret and the keys."""

    def out(*args: str) -> str:
        return home(*args, env=env).out

    shown: dict[str, Any] = {kind: out("get", kind, "-o", "json") for kind in LISTED_KINDS}
    shown["executions"] = out("execution", "list", "-o", "json")
    shown["history"] = out("history", "skill", "refund-policy", "-o", "json")
    shown["logs"] = out("execution", "logs", run)
    shown["secret"] = out("env", "reveal", "prod", "TOKEN")
    shown["keys"] = out("server", "keys", "list", "-o", "json")
    return shown


def test_a_home_moves_to_postgresql_and_back_unchanged(
    stigmer: Stigmer, postgres_url: str, other_home: Callable[[str], Stigmer]
) -> None:
    run = _filled(stigmer)
    before = _shown(stigmer, run)

    moved = stigmer("migrate", "--to", postgres_url, "-o", "json").json()

    assert moved["to"] == postgres_url and moved["rows"]["api_resource_versions"] > 0
    on_postgres = {"STIGMER_DATABASE_URL": postgres_url}
    assert _shown(stigmer, run, on_postgres) == before
    assert stigmer("execution", "logs", run, env=on_postgres).out == "Hi!\n"
    with psycopg.connect(postgres_url) as conn:
        [(spec,)] = conn.execute("SELECT spec::text FROM environments WHERE slug = 'prod'").fetchall()
    assert "tok-123456" not in spec and "sealed:" in spec
    # The database goes on from where the file was: a new write gets the next version.
    stigmer("apply", "-f", "examples/skills", env=on_postgres)
    skill_file = stigmer.cwd / "examples" / "skills" / "refund-policy.yaml"
    skill_file.write_text(skill_file.read_text().replace("60 days", "90 days"))
    stigmer("apply", "-f", "examples/skills", env=on_postgres)
    history = stigmer("history", "skill", "refund-policy", "-o", "json", env=on_postgres).json()
    assert [h["spec"]["version"] for h in history] == [1, 2, 3]

    back = stigmer.home.parent / "back.db"
    stigmer("migrate", "--from", postgres_url, "--to", str(back))
    returned = other_home("returned")
    returned.home.mkdir(parents=True)
    (returned.home / "master.key").write_bytes((stigmer.home / "master.key").read_bytes())
    (returned.home / "master.key").chmod(0o600)
    write(returned.home / "config.yaml", f"database: {back}\n")
    assert _shown(returned, run)["secret"] == before["secret"]
    assert returned("history", "skill", "refund-policy", "-o", "json").json() == history


def test_a_target_that_holds_anything_is_refused_and_left_as_it_was(
    stigmer: Stigmer, postgres_url: str
) -> None:
    stigmer("apply", "-f", "examples/skills")
    stigmer("migrate", "--to", postgres_url)
    stigmer("apply", "-f", "examples/agents")

    again = stigmer("migrate", "--to", postgres_url, check=False)

    assert again.code != 0
    assert f"the target store {postgres_url} is not empty" in again.err
    assert "nothing was copied" in again.err and "empty database" in again.err
    on_postgres = {"STIGMER_DATABASE_URL": postgres_url}
    assert stigmer("get", "agents", "-o", "json", env=on_postgres).json() == []


def test_migrating_a_store_onto_itself_is_refused(stigmer: Stigmer) -> None:
    stigmer("apply", "-f", "examples/skills")

    same = stigmer("migrate", "--to", str(stigmer.database), check=False)

    assert same.code != 0
    assert "the store is already at" in same.err
