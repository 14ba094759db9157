"""The SQLite schema: migrations from any older version, refusing newer ones, racing openers."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import stigmer.store
from stigmer.backend.local import LocalBackend
from stigmer.errors import SchemaTooNew
from stigmer.store import migrations
from stigmer.store.database import Database
from stigmer.store.migrations import LATEST, MIGRATIONS, Migration, current_version, migrate

Schema = list[tuple[str, str, str, str]]


def _schema(conn: sqlite3.Connection) -> Schema:
    rows = conn.execute("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master").fetchall()
    return sorted(rows)


def _applied(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    return conn.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


@pytest.fixture
def fresh_schema(tmp_path: Path) -> Schema:
    db = Database.open(tmp_path / "fresh.db")
    try:
        return _schema(db.conn)
    finally:
        db.close()


def test_migrations_are_numbered_one_to_latest() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1))
    assert all(m.sql.strip() for m in MIGRATIONS)


def test_a_fresh_database_records_every_migration(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "local.db")

    assert current_version(db.conn) == LATEST
    assert _applied(db.conn) == [(m.version, m.name) for m in MIGRATIONS]
    db.close()


def test_a_blank_file_migrates_to_the_fresh_schema(tmp_path: Path, fresh_schema: Schema) -> None:
    path = tmp_path / "blank.db"
    path.touch()
    conn = _connect(path)

    assert migrate(conn, str(path)) == LATEST
    assert _schema(conn) == fresh_schema


@pytest.mark.parametrize("old", range(LATEST))
def test_every_older_schema_migrates_to_the_fresh_schema(
    tmp_path: Path, fresh_schema: Schema, old: int
) -> None:
    path = tmp_path / "old.db"
    conn = _connect(path)
    assert migrate(conn, str(path), target=old) == old

    assert migrate(conn, str(path)) == LATEST

    assert _schema(conn) == fresh_schema
    assert _applied(conn) == [(m.version, m.name) for m in MIGRATIONS]


def test_migrating_keeps_existing_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = _connect(path)
    migrate(conn, str(path), target=1)
    conn.execute(
        "INSERT INTO skills (id, name, slug, version, spec, created_at, updated_at) "
        "VALUES ('skl_1', 'notes', 'notes', 3, '{\"content\": \"# Kept\"}', '2024-01-01', '2024-01-02')"
    )
    conn.close()

    db = Database.open(path)

    assert db.conn.execute("SELECT name, version, spec FROM skills").fetchall() == [
        ("notes", 3, '{"content": "# Kept"}')
    ]
    db.close()


def test_reopening_a_current_database_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "local.db"
    Database.open(path).close()
    conn = _connect(path)
    before = (_schema(conn), _applied(conn))
    conn.close()

    db = Database.open(path)

    assert (_schema(db.conn), _applied(db.conn)) == before
    db.close()


def test_a_failing_migration_leaves_no_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "local.db"
    conn = _connect(path)
    migrate(conn, str(path))
    before = _schema(conn)
    broken = Migration(
        LATEST + 1, "broken", "CREATE TABLE half_done (x);\nINSERT INTO no_such_table VALUES (1);"
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, broken])

    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        migrate(conn, str(path), target=LATEST + 1)

    assert not conn.in_transaction
    assert current_version(conn) == LATEST
    assert _schema(conn) == before


def _newer_database(path: Path) -> None:
    Database.open(path).close()
    conn = _connect(path)
    conn.execute("INSERT INTO schema_version VALUES (?, 'from-the-future', '2099-01-01')", (LATEST + 1,))
    conn.close()


def _fingerprint(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_a_newer_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "home" / "local.db"
    _newer_database(path)
    before = _fingerprint(path.parent)

    with pytest.raises(SchemaTooNew) as err:
        Database.open(path)
    with pytest.raises(SchemaTooNew):
        LocalBackend.open(path)

    assert f"schema version {LATEST + 1}" in str(err.value)
    assert str(path) in str(err.value)
    assert "upgrade" in err.value.hint
    assert _fingerprint(path.parent) == before


def test_opening_waits_for_another_process_that_is_creating_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process is midway through its first write to the new file when we open it.

    Switching a new file to WAL then fails at once ("database is locked") rather than
    waiting on busy_timeout, so the opener must retry. Each time it waits, the other
    process gets to finish: no real time passes.
    """
    path = tmp_path / "local.db"
    other = _connect(path)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE first_table (x)")
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if other.in_transaction:
            other.execute("COMMIT")

    monkeypatch.setattr(time, "sleep", wait)

    db = Database.open(path)

    assert waits
    assert current_version(db.conn) == LATEST
    db.close()
    other.close()


_OPEN_WHEN_TOLD = """
import sys
from stigmer.store.database import Database
print("ready", flush=True)
sys.stdin.readline()
Database.open(sys.argv[1]).close()
"""


def test_processes_opening_a_fresh_database_at_once_all_succeed(tmp_path: Path, fresh_schema: Schema) -> None:
    path = tmp_path / "home" / "local.db"
    src = Path(stigmer.store.__file__).parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")])),
    }
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_WHEN_TOLD, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    for opener in openers:  # every process has imported stigmer and waits at the line
        assert opener.stdout is not None and opener.stdout.readline() == "ready\n"
    for opener in openers:
        assert opener.stdin is not None
        opener.stdin.write("go\n")
        opener.stdin.flush()

    results = [opener.communicate(timeout=60) for opener in openers]

    assert [o.returncode for o in openers] == [0] * len(openers), [err for _, err in results]
    conn = _connect(path)
    assert _applied(conn) == [(m.version, m.name) for m in MIGRATIONS]
    assert _schema(conn) == fresh_schema
    conn.close()
