"""The local store's secrets, attacked at the file level: the database never holds plaintext,
and a tampered, moved or key-less ciphertext is a clear error that opens and destroys nothing."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.environment.v1.environment_pb2 import Environment
from stigmer.backend.local import LocalBackend
from stigmer.errors import SecretError
from stigmer.secrets.sealing import key_id
from tests.builders import agent, agent_execution, counts, environment

TOKEN = "ghp_live-0123456789abcdef"
OTHER = "xoxb-another-s3cret-value"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def backend(home: Path) -> Iterator[LocalBackend]:
    opened = LocalBackend.open(home / "local.db")
    yield opened
    opened.close()


def _raw(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.iterdir()) if p.is_file())


def _stored_secrets(home: Path, env: str) -> dict[str, str]:
    with sqlite3.connect(home / "local.db") as conn:
        row = conn.execute(
            "SELECT json_extract(spec, '$.secrets') FROM environments WHERE slug = ?", (env,)
        ).fetchone()
    conn.close()
    import json

    return dict(json.loads(row[0])) if row and row[0] else {}


def _overwrite_secret(home: Path, env: str, name: str, token: str) -> None:
    """Write a token into the stored row (JSON and serialized message), as an attacker with the file would."""
    backend = LocalBackend.open(home / "local.db")
    try:
        with backend.db.write() as conn:
            rec_row = conn.execute("SELECT id FROM environments WHERE slug = ?", (env,)).fetchone()
            from stigmer.backend.codec import seal
            from stigmer.store import records

            rec = records.get(conn, "environments", id=rec_row[0])
            assert rec is not None
            rec.spec.setdefault("secrets", {})[name] = token
            seal(Environment, rec)
            records.update_txn(conn, "environments", rec, expected_version=rec.version)
    finally:
        backend.close()


def test_no_plaintext_reaches_the_database_its_wal_or_the_home(backend: LocalBackend, home: Path) -> None:
    backend.create(environment("prod", variables={"REGION": "eu-west-1"}, secrets={"TOKEN": TOKEN}))
    backend.apply([environment("prod", variables={"REGION": "eu-west-1"}, secrets={"TOKEN": OTHER})])
    backend.apply([agent("bot")])
    created = backend.create_execution(agent_execution("bot", environment="prod"))
    claimed = backend.claim_execution("w:1:1", execution_id=created.metadata.id)
    assert isinstance(claimed, AgentExecution)
    assert backend.get_execution_context(created.metadata.id).spec.secrets["TOKEN"] == OTHER

    raw = _raw(home)
    assert (home / "local.db-wal").exists()
    assert TOKEN.encode() not in raw and OTHER.encode() not in raw
    assert b"sealed:v1:" in raw
    # The context row holds the sealed value, not the plaintext GetExecutionContext returned.
    with sqlite3.connect(home / "local.db") as conn:
        (spec,) = conn.execute("SELECT spec FROM execution_contexts").fetchone()
    conn.close()
    assert '"TOKEN":"sealed:v1:' in spec


def test_a_ciphertext_moved_to_another_environment_does_not_open(backend: LocalBackend, home: Path) -> None:
    backend.create(environment("prod", secrets={"TOKEN": TOKEN}))
    backend.create(environment("dev", secrets={"TOKEN": "dev-token-value"}))
    stolen = _stored_secrets(home, "prod")["TOKEN"]

    _overwrite_secret(home, "dev", "TOKEN", stolen)

    with pytest.raises(SecretError, match="secret TOKEN of environment 'dev' failed its integrity check"):
        backend.reveal_secret("dev", "TOKEN")
    _overwrite_secret(home, "prod", "RENAMED", stolen)
    with pytest.raises(SecretError, match="copied from another entry"):
        backend.reveal_secret("prod", "RENAMED")
    assert backend.reveal_secret("prod", "TOKEN") == TOKEN


def test_a_tampered_ciphertext_fails_a_run_and_changes_nothing(backend: LocalBackend, home: Path) -> None:
    backend.create(environment("prod", secrets={"TOKEN": TOKEN}))
    token = _stored_secrets(home, "prod")["TOKEN"]
    _overwrite_secret(home, "prod", "TOKEN", token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    backend.apply([agent("bot")])
    created = backend.create_execution(agent_execution("bot", environment="prod"))
    backend.claim_execution("w:1:1", execution_id=created.metadata.id)

    with pytest.raises(SecretError, match="integrity check"):
        backend.get_execution_context(created.metadata.id)
    with pytest.raises(SecretError, match="integrity check"):
        backend.apply([environment("prod", secrets={"TOKEN": TOKEN})])
    assert backend.get(Environment, "prod").metadata.version == 1


def test_a_missing_key_file_is_a_clear_error_and_destroys_nothing(backend: LocalBackend, home: Path) -> None:
    backend.create(environment("prod", secrets={"TOKEN": TOKEN}))
    key = home / "master.key"
    backup = home.parent / "master.key.backup"
    shutil.move(key, backup)
    before = (counts(backend), _stored_secrets(home, "prod"))

    with pytest.raises(SecretError, match=r"not in .*master\.key") as err:
        backend.reveal_secret("prod", "TOKEN")
    assert "restore master.key" in err.value.hint
    # No new key is made while sealed secrets exist: it would silently orphan them.
    with pytest.raises(SecretError, match="nothing was unsealed or changed"):
        backend.create(environment("dev", secrets={"NEW": "new-secret-value"}))
    with pytest.raises(SecretError):
        backend.rotate_master_key()
    assert not key.exists()
    assert (counts(backend), _stored_secrets(home, "prod")) == before

    shutil.move(backup, key)
    assert backend.reveal_secret("prod", "TOKEN") == TOKEN


def test_a_loose_key_file_is_refused(backend: LocalBackend, home: Path) -> None:
    backend.create(environment("prod", secrets={"TOKEN": TOKEN}))
    (home / "master.key").chmod(0o644)

    with pytest.raises(SecretError, match="mode is 0644") as err:
        LocalBackend.open(home / "local.db").reveal_secret("prod", "TOKEN")
    assert err.value.hint == f"chmod 600 {home / 'master.key'}"


def test_another_homes_key_opens_nothing(backend: LocalBackend, home: Path, tmp_path: Path) -> None:
    backend.create(environment("prod", secrets={"TOKEN": TOKEN}))
    other = LocalBackend.open(tmp_path / "other" / "local.db")
    other.create(environment("x", secrets={"X": "x-secret-value"}))
    other.close()
    shutil.copy(tmp_path / "other" / "master.key", home / "master.key")

    with pytest.raises(SecretError, match=r"master key '\w+' that sealed this home's secrets is not in"):
        LocalBackend.open(home / "local.db").reveal_secret("prod", "TOKEN")


def test_rotation_reseals_rows_and_history_and_drops_the_old_key(backend: LocalBackend, home: Path) -> None:
    backend.create(environment("prod", secrets={"TOKEN": TOKEN}))
    old_kid = key_id(_stored_secrets(home, "prod")["TOKEN"])

    backend.rotate_master_key()

    new_kid = key_id(_stored_secrets(home, "prod")["TOKEN"])
    assert new_kid != old_kid
    key_file = (home / "master.key").read_text()
    assert new_kid in key_file and old_kid not in key_file
    with sqlite3.connect(home / "local.db") as conn:
        snapshots = [r[0] for r in conn.execute("SELECT snapshot FROM api_resource_versions")]
    conn.close()
    assert all(f"sealed:v1:{new_kid}:" in s for s in snapshots if "secrets" in s)
    assert backend.reveal_secret("prod", "TOKEN") == TOKEN
