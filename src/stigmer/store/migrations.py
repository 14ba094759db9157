"""Numbered SQL migrations, applied in order and recorded in `schema_version`.

One numbered list for both stores: migration N is ``migrations/sqlite/N_name.sql`` and
``migrations/postgresql/N_name.sql``, the same change in each database's own DDL (a file
per dialect rather than one file with substitutions: the two differ in most lines of a
table, generated columns, JSON types, identity keys, and a substitution engine would be a
second language to read). A test holds the two lists to the same numbers and names.
This module applies SQLite's; :mod:`stigmer.store.postgres` applies PostgreSQL's.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stigmer.errors import SchemaTooNew
from stigmer.store.connection import Connection

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema change: its number, its name and the SQL script."""

    version: int
    name: str
    sql: str


def load_migrations(dialect: str = "sqlite") -> list[Migration]:
    """Every migration shipped in ``stigmer/store/migrations/DIALECT``, ordered by number.

    Raises:
        RuntimeError: Two files share a number, or the numbers have a gap.
    """
    found: dict[int, Migration] = {}
    # A plain directory next to this module (package data); importlib.resources costs ~7 ms.
    for entry in (Path(__file__).parent / "migrations" / dialect).iterdir():
        match = _FILE.match(entry.name)
        if not match:
            continue
        number = int(match.group(1))
        if number in found:
            raise RuntimeError(
                f"two migrations are numbered {number}: {found[number].name}, {match.group(2)}"
            )
        found[number] = Migration(number, match.group(2), entry.read_text(encoding="utf-8"))
    ordered = [found[n] for n in sorted(found)]
    if [m.version for m in ordered] != list(range(1, len(ordered) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {sorted(found)}")
    return ordered


MIGRATIONS = load_migrations()
LATEST = MIGRATIONS[-1].version


def current_version(conn: Connection | sqlite3.Connection) -> int:
    """The highest applied migration, 0 for a blank database."""
    if isinstance(conn, sqlite3.Connection):
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
    else:
        exists = conn.execute("SELECT to_regclass('schema_version')").fetchone()[0]
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def check_not_newer(conn: Connection | sqlite3.Connection, path: str) -> int:
    """Refuse a database that a newer Stigmer wrote, before anything touches it."""
    version = current_version(conn)
    if version > LATEST:
        raise SchemaTooNew(
            f"database {path} has schema version {version}, newer than this Stigmer knows ({LATEST}); "
            "it was left untouched",
            hint="upgrade stigmer (pip install -U stigmer), or point --home at another directory",
        )
    return version


def migrate(conn: sqlite3.Connection, path: str, *, target: int = LATEST) -> int:
    """Apply every pending migration up to ``target``; safe when processes race.

    Each migration runs as one script in one IMMEDIATE transaction whose first statement
    records its row in ``schema_version``: the primary key makes a second process that
    raced to the same migration fail there, roll back, and see the work as done.

    Returns:
        The schema version after migrating.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    version = check_not_newer(conn, path)
    for migration in MIGRATIONS:
        if migration.version <= version or migration.version > target:
            continue
        applied_at = datetime.now(UTC).isoformat()
        script = (
            "BEGIN IMMEDIATE;\n"
            f"INSERT INTO schema_version (version, name, applied_at) "
            f"VALUES ({migration.version}, '{migration.name}', '{applied_at}');\n"
            f"{migration.sql}\n"
            "COMMIT;\n"
        )
        try:
            conn.executescript(script)
        except sqlite3.IntegrityError:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if current_version(conn) < migration.version:
                raise
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return current_version(conn)


__all__ = [
    "LATEST",
    "MIGRATIONS",
    "Migration",
    "check_not_newer",
    "current_version",
    "load_migrations",
    "migrate",
]
