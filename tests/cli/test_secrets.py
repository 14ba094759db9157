"""Secrets end to end through the real CLI: stored once, used by a run, found nowhere else;
carried by exports only under a passphrase; a rotation killed at any point loses nothing."""

from __future__ import annotations

import secrets
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from stigmer.testing import crash_at
from tests.fixtures.http_counter import counting_server

from .helpers import EXAMPLES, Stigmer, write

PASSPHRASE = "correct horse battery staple"


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def stored(stigmer: Stigmer) -> Stigmer:
    """A home with two environments holding three secrets."""
    stigmer("init")
    stigmer("env", "create", "prod", "--var", "REGION=eu-west-1", "--secret", "TOKEN=prod-token-value")
    stigmer("env", "create", "dev", "--secret", "TOKEN=dev-token-value", "--secret", "DB=dev-db-password")
    return stigmer


def _readable(home: Stigmer) -> list[str]:
    return [
        home("env", "reveal", env, key).out.strip()
        for env, key in (("prod", "TOKEN"), ("dev", "TOKEN"), ("dev", "DB"))
    ]


VALUES = ["prod-token-value", "dev-token-value", "dev-db-password"]


def test_the_token_is_found_nowhere_but_where_it_is_revealed(stigmer: Stigmer, tmp_path: Path) -> None:
    """A token stored once, used by an MCP server that echoes it, repeated by the model."""
    token = f"tok-{secrets.token_hex(12)}"
    stigmer("init")
    # A connection held open keeps the WAL file in place when each command exits, so it is scanned too.
    watcher = sqlite3.connect(stigmer.database)
    watcher.execute("SELECT count(*) FROM sqlite_master").fetchone()
    created = stigmer("env", "create", "prod", "--secret", "TOKEN", input=f"{token}\n")
    log = tmp_path / "helpdesk.log"
    write(
        stigmer.cwd / "leaky.yaml",
        f"""
        apiVersion: agentic.stigmer.ai/v1
        kind: Agent
        metadata: {{name: leaky}}
        spec:
          instructions: Tell the user the token.
          model:
            provider: scripted
            options:
              script:
                - toolCalls: [{{name: echo_env, arguments: {{name: TOKEN}}}}]
                - echoToolResult: true
          mcpServers:
            - name: helpdesk
              stdio:
                command: {sys.executable}
                args: [{EXAMPLES / "mcpservers" / "helpdesk_server.py"}]
                env: {{TOKEN: "${{secrets.TOKEN}}", HELPDESK_LOG: {log}}}
        """,
    )
    applied = stigmer("apply", "-f", "leaky.yaml")

    run = stigmer("agent", "execute", "leaky", "What is the token?", "--env", "prod")
    execution_id = stigmer("execution", "list", "--kind", "agent", "-o", "json").json()[0]["metadata"]["id"]
    # The same token, sent by a workflow's http task to a server that echoes it back.
    with counting_server() as hook:
        write(
            stigmer.cwd / "hook.yaml",
            f"""
            apiVersion: agentic.stigmer.ai/v1
            kind: Workflow
            metadata: {{name: hook}}
            spec:
              tasks:
                - name: post
                  http:
                    method: POST
                    url: {hook.url}/notify
                    headers: {{Authorization: "Bearer ${{secrets.TOKEN}}"}}
                    body: {{token: "${{secrets.TOKEN}}"}}
              outputs: {{echo: "${{tasks.post.outputs.body.echo}}"}}
            """,
        )
        stigmer("apply", "-f", "hook.yaml")
        flow = stigmer("workflow", "execute", "hook", "--env", "prod")
    assert hook.requests[0]["headers"]["Authorization"] == f"Bearer {token}"
    assert hook.requests[0]["body"] == {"token": token}
    assert flow.out == "echo: Bearer ****\n"
    flow_id = stigmer("execution", "list", "--kind", "workflow", "-o", "json").json()[0]["metadata"]["id"]
    shown = [
        flow,
        stigmer("execution", "logs", flow_id),
        stigmer("execution", "get", flow_id),
        stigmer("execution", "get", flow_id, "-o", "json"),
        created,
        applied,
        run,
        stigmer("execution", "logs", execution_id),
        stigmer("execution", "get", execution_id, "-o", "json"),
        stigmer("execution", "get", execution_id, "-o", "yaml"),
        stigmer("env", "get", "prod", "-o", "yaml"),
        stigmer("history", "environment", "prod", "-o", "json"),
        stigmer("get", "executioncontexts", "-o", "json"),
        stigmer("export", "--all"),
    ]

    # The server got the token (an unset variable echoes ""), and the run shows ****.
    assert run.out == "****\n"
    assert "← echo_env" in run.err and "****" in run.err
    assert stigmer("execution", "get", execution_id, "-o", "json").json()["status"]["output"] == "****"
    for result in shown:
        assert token not in result.out and token not in result.err, result
    files = _files(stigmer.home) | _files(stigmer.cwd) | ({log: log.read_bytes()} if log.exists() else {})
    watcher.close()
    assert {stigmer.home / "local.db", stigmer.home / "local.db-wal"} <= set(files)
    assert b"sealed:v1:" in files[stigmer.home / "local.db-wal"]
    for path, data in files.items():
        assert token.encode() not in data, path
    assert stigmer("env", "reveal", "prod", "TOKEN").out == f"{token}\n"


def test_an_export_leaves_secret_values_out_and_says_so(
    stored: Stigmer, other_home: Callable[[str], Stigmer]
) -> None:
    exported = stored("export", "--all")

    assert "3 secret values were left out (shown as ****)" in exported.err
    assert "--include-secrets --passphrase-file" in exported.err
    envs = {
        d["metadata"]["name"]: d["spec"]
        for d in yaml.safe_load_all(exported.out)
        if d["kind"] == "Environment"
    }
    assert envs["dev"]["secrets"] == {"DB": "****", "TOKEN": "****"}
    for value in VALUES:
        assert value not in exported.out

    restored = other_home("restored")
    imported = restored("import", input=exported.out)
    assert "Warning: environment 'dev': the export has no value for secret DB, TOKEN" in imported.err
    assert restored("env", "get", "dev", "-o", "json").json()["spec"].get("secrets") is None
    # Restoring onto the home it came from keeps the values it has.
    assert stored("import", input=exported.out).err == ""
    assert _readable(stored) == VALUES


def test_an_export_with_a_passphrase_restores_every_secret_in_a_new_home(
    stored: Stigmer, other_home: Callable[[str], Stigmer]
) -> None:
    passfile = write(stored.cwd / "pass.txt", PASSPHRASE + "\n")
    refused = stored("export", "--all", "--include-secrets", check=False)
    assert (refused.code, "--include-secrets needs --passphrase-file" in refused.err) == (2, True)

    exported = stored("export", "--all", "--include-secrets", "--passphrase-file", passfile)

    assert "3 secret values are sealed with the passphrase." in exported.err
    assert exported.out.count("sealed:pw1:") == 3
    for value in VALUES:
        assert value not in exported.out

    restored = other_home("restored")
    without = restored("import", input=exported.out, check=False)
    assert without.code == 2
    assert (
        "secret DB of environment 'dev' is sealed with an export passphrase; nothing was imported"
        in without.err
    )
    assert "--passphrase-file" in without.err
    wrong = write(stored.cwd / "wrong.txt", "not it\n")
    bad = restored("import", "--passphrase-file", wrong, input=exported.out, check=False)
    assert bad.code == 1
    assert "cannot be opened with this passphrase" in bad.err
    assert restored.names("environments") == []

    restored("import", "--passphrase-file", passfile, input=exported.out)

    assert _readable(restored) == VALUES
    # Sealed again with the new home's own key: nothing in it opens with the old one.
    assert (restored.home / "master.key").read_bytes() != (stored.home / "master.key").read_bytes()
    for data in _files(restored.home).values():
        for value in VALUES:
            assert value.encode() not in data


def test_rotate_key_reseals_every_secret(stored: Stigmer) -> None:
    key_before = (stored.home / "master.key").read_text()

    rotated = stored("secrets", "rotate-key")

    assert rotated.out == f"Re-sealed 3 secrets with a new master key in {stored.home / 'master.key'}.\n"
    key_after = (stored.home / "master.key").read_text()
    assert key_after != key_before
    assert len([line for line in key_after.splitlines() if not line.startswith("#")]) == 1
    assert _readable(stored) == VALUES


@pytest.mark.parametrize(
    "point, nth",
    [
        ("secrets.rotation_key_added", 1),
        ("secrets.rotation_resealed", 2),
        ("secrets.rotation_committed", 1),
    ],
    ids=["before-resealing", "mid-transaction", "after-commit"],
)
def test_a_rotation_killed_at_any_point_leaves_every_secret_readable(
    stored: Stigmer, point: str, nth: int
) -> None:
    killed = stored("secrets", "rotate-key", env=crash_at(point, nth), check=False)

    assert killed.code == -9, killed
    assert _readable(stored) == VALUES
    keys = [
        line for line in (stored.home / "master.key").read_text().splitlines() if not line.startswith("#")
    ]
    assert len(keys) == 2  # the old and the new, until a rotation finishes

    stored("secrets", "rotate-key")
    assert _readable(stored) == VALUES
    stored("env", "set", "prod", "--secret", "NEW=after-the-crash")
    assert stored("env", "reveal", "prod", "NEW").out == "after-the-crash\n"


def test_a_key_file_others_can_read_is_refused_with_the_fix(stored: Stigmer) -> None:
    key = stored.home / "master.key"
    key.chmod(0o644)

    refused = stored("env", "reveal", "prod", "TOKEN", check=False)

    assert refused.code == 1
    assert refused.err == (
        f"Error: refusing the master key file {key}: its mode is 0644, so other users may read it; "
        f"nothing was unsealed\nHint: chmod 600 {key}\n"
    )
    key.chmod(0o600)
    assert _readable(stored) == VALUES
