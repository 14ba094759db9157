"""The PostgreSQL store: one numbered list of migrations, racing openers, refusals, errors,
and nobody else paying for psycopg. (Every Backend behaviour runs on it in tests/conformance.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

import stigmer.store
from stigmer.backend.local import LocalBackend
from stigmer.errors import Conflict, SchemaTooNew, StigmerError, Unavailable
from stigmer.secrets.keys import MasterKeys
from stigmer.store.connection import redacted
from stigmer.store.database import open_database
from stigmer.store.migrations import LATEST, MIGRATIONS
from stigmer.store.postgres import PostgresDatabase, libpq_sql, postgres_migrations, postgres_sql
from stigmer.testing.postgres import PostgresServer, free_port


def _applied(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return [
            (int(v), str(n)) for v, n in conn.execute("SELECT version, name FROM schema_version ORDER BY 1")
        ]


def _tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        )
        return [str(r[0]) for r in rows]


def test_both_stores_have_the_same_numbered_migrations() -> None:
    assert [(m.version, m.name) for m in postgres_migrations()] == [(m.version, m.name) for m in MIGRATIONS]


def test_a_blank_database_is_migrated_to_the_latest_schema(postgres: PostgresServer) -> None:
    url = postgres.create_database("blank_one")
    try:
        open_database(url).close()

        assert _applied(url) == [(m.version, m.name) for m in MIGRATIONS]
        assert "agents" in _tables(url) and "execution_steps" in _tables(url)
        # Opening it again applies nothing.
        open_database(url).close()
        assert len(_applied(url)) == LATEST
    finally:
        postgres.drop_database("blank_one")


_OPEN_WHEN_TOLD = """
import sys
from stigmer.store.database import open_database
print("ready", flush=True)
sys.stdin.readline()
open_database(sys.argv[1]).close()
"""


def test_servers_starting_at_once_on_a_blank_database_all_succeed(postgres: PostgresServer) -> None:
    url = postgres.create_database("raced")
    src = Path(stigmer.store.__file__).parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")])),
    }
    try:
        openers = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_WHEN_TOLD, url],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(4)
        ]
        for opener in openers:
            assert opener.stdout is not None and opener.stdout.readline() == "ready\n"
        for opener in openers:
            assert opener.stdin is not None
            opener.stdin.write("go\n")
            opener.stdin.flush()
        results = [opener.communicate(timeout=60) for opener in openers]

        assert [o.returncode for o in openers] == [0] * 4, [err for _, err in results]
        assert _applied(url) == [(m.version, m.name) for m in MIGRATIONS]
    finally:
        postgres.drop_database("raced")


def test_a_database_of_a_newer_stigmer_is_refused_and_left_untouched(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version VALUES (%s, 'from_the_future', 'now')", (LATEST + 1,))
    before = _tables(postgres_url)

    with pytest.raises(SchemaTooNew) as err:
        open_database(postgres_url)

    assert f"schema version {LATEST + 1}" in str(err.value)
    assert "upgrade" in err.value.hint
    assert _tables(postgres_url) == before
    assert len(_applied(postgres_url)) == LATEST + 1


def test_an_unreachable_database_says_so_without_the_password() -> None:
    url = f"postgresql://stigmer:hunter2@127.0.0.1:{free_port()}/nowhere"

    with pytest.raises(StigmerError) as err:
        open_database(url)

    assert "cannot open the PostgreSQL database" in str(err.value)
    assert "hunter2" not in str(err.value)
    assert "postgresql://USER:PASSWORD@HOST:PORT/DATABASE" in err.value.hint


def test_info_shows_where_the_store_is_without_the_password(postgres_url: str, tmp_path: Path) -> None:
    with_password = postgres_url.replace("stigmer@", "stigmer:secret-pw@")
    backend = LocalBackend.open(with_password, keys=MasterKeys(tmp_path))
    try:
        info = backend.info()
    finally:
        backend.close()

    assert info.database == postgres_url.replace("stigmer@", "stigmer:****@")
    assert (info.type, info.store) == ("local", "postgresql")
    assert info.schema_version == LATEST
    assert redacted("postgresql://a:b@h/d") == "postgresql://a:****@h/d"


def test_the_store_sql_becomes_psycopg_sql() -> None:
    assert (
        postgres_sql("SELECT ? WHERE x = '?' AND y LIKE 'a%'") == "SELECT %s WHERE x = '?' AND y LIKE 'a%%'"
    )
    assert postgres_sql("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', %s"
    assert libpq_sql("SELECT ?, ? WHERE x = '?' AND y LIKE 'a%' AND z = ?") == (
        b"SELECT $1, $2 WHERE x = '?' AND y LIKE 'a%' AND z = $3"
    )


def test_a_statement_gives_the_same_rows_and_errors_before_and_after_it_is_prepared(
    postgres_url: str,
) -> None:
    db = PostgresDatabase.open(postgres_url)
    try:
        with db.write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS t_prepared (id TEXT PRIMARY KEY, n INT, b BYTEA)")
        for i in range(4):  # sent whole, then prepared, then run prepared
            with db.write() as conn:
                inserted = conn.execute(
                    "INSERT INTO t_prepared VALUES (?, ?, ?) RETURNING n", (f"r{i}", i, b"\x00" * i)
                )
                assert (inserted.rowcount, inserted.fetchone()) == (1, (i,))
            with db.read(snapshot=False) as conn:
                cursor = conn.execute("SELECT id, n, b FROM t_prepared WHERE n <= ? ORDER BY n", (i,))
                rows = cursor.fetchall()
                assert rows == [(f"r{j}", j, b"\x00" * j) for j in range(i + 1)]
                assert conn.execute("SELECT n FROM t_prepared WHERE id = ?", ("none",)).fetchone() is None
            with pytest.raises(Conflict, match="duplicate key"), db.write() as conn:
                conn.execute("INSERT INTO t_prepared VALUES (?, ?, ?)", ("r0", 0, None))
        with db.read() as conn:  # nothing of the failed writes stayed
            assert conn.execute("SELECT count(*) FROM t_prepared").fetchone() == (4,)
    finally:
        db.close()


def test_the_cli_on_sqlite_never_imports_psycopg(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from stigmer.cli.entry import main\n"
        "for argv in (['--help'], ['get', 'agents'], ['execution', 'list']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'psycopg_pool')))\n"
    )
    env = {**os.environ, "STIGMER_HOME": str(tmp_path / "home")}
    env.pop("STIGMER_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=60
    )

    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_missing_postgresql_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STIGMER_POSTGRES_BIN", str(tmp_path))

    with pytest.raises(StigmerError) as err:
        PostgresServer()

    assert "initdb" in str(err.value)
    assert "apt-get install postgresql" in err.value.hint


def test_a_throwaway_server_leaves_nothing_behind() -> None:
    with PostgresServer() as server:
        directory = server.directory
        url = server.create_database("scratch")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_setting('listen_addresses')").fetchone() == ("127.0.0.1",)

    assert directory is not None and not directory.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_a_database_that_goes_away_is_unavailable_with_what_to_check(tmp_path: Path) -> None:
    with PostgresServer() as server:
        backend = LocalBackend.open(server.create_database("gone"), keys=MasterKeys(tmp_path))
        try:
            backend.info()
            server.stop()

            with pytest.raises(Unavailable) as err:
                backend.info()
        finally:
            backend.close()

    assert "the PostgreSQL database postgresql://stigmer@127.0.0.1" in str(err.value)
    assert "is unavailable" in str(err.value)
    assert "check that it is up" in err.value.hint
