"""The SQLite database: connection settings, migrations and write transactions; and
:func:`open_database`, which opens a SQLite file or a PostgreSQL URL."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stigmer.errors import DatabaseCorrupt, InvalidArgument, StigmerError
from stigmer.store.connection import BUSY_TIMEOUT_MS, SQLITE, SqliteConnection, Transactions, is_url
from stigmer.store.migrations import check_not_newer, migrate

# The `durability` setting, as SQLite's synchronous pragma (in WAL mode): FULL syncs the log at
# every commit, so a commit survives a power loss; NORMAL syncs at checkpoints only, so a
# commit survives a crashed process but the last ones may be lost with the machine.
SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}


def _enable_wal(conn: sqlite3.Connection) -> None:
    # Switching a new file to WAL takes an exclusive lock without calling the busy
    # handler, so two processes opening a fresh database at once would fail here.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class Database:
    """One connection to a Stigmer SQLite file.

    Reads run in autocommit mode; writes go through :meth:`write`, which holds an
    IMMEDIATE transaction so concurrent writers queue on ``busy_timeout`` instead of
    failing with "database is locked". A Database is used from one thread at a time.
    """

    dialect = SQLITE

    def __init__(self, conn: SqliteConnection, path: str) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: str | Path, *, migrate_schema: bool = True, durability: str = "full") -> Database:
        """Open (creating if needed) and migrate the database at ``path``.

        Args:
            path: The SQLite file, or ``:memory:``.
            migrate_schema: Bring the schema up to date.
            durability: ``full`` (commits survive a power loss) or ``normal`` (they survive
                a crashed process); see :data:`SYNCHRONOUS`.

        Raises:
            SchemaTooNew: The file was written by a newer Stigmer; it is not modified.
            InvalidArgument: ``durability`` is neither ``full`` nor ``normal``.
        """
        synchronous = SYNCHRONOUS.get(durability)
        if synchronous is None:
            raise InvalidArgument(
                f"invalid durability {durability!r}", field="durability", hint="use full or normal"
            )
        path = str(path)
        if path != ":memory:":
            _private_file(Path(path))
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, factory=SqliteConnection)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            # Checked before any pragma that writes, so a newer database stays untouched.
            check_not_newer(conn, path)
            _enable_wal(conn)
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            if migrate_schema:
                migrate(conn, path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError):  # locked, unreadable: not damage
                raise
            raise corrupt(path, exc) from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    @contextmanager
    def write(self, *, exclusive: bool = False) -> Iterator[SqliteConnection]:
        """A write transaction (BEGIN IMMEDIATE, so every one is ``exclusive``): committed on
        success, rolled back on error."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def read(self, *, snapshot: bool = True) -> Iterator[SqliteConnection]:
        """A read transaction: every query inside sees one consistent snapshot (``snapshot=False``:
        no transaction: for a read of one statement, or whose statements need not agree)."""
        if self.conn.in_transaction or not snapshot:
            yield self.conn
            return
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def open_database(
    location: str | Path, *, durability: str = "full", migrate_schema: bool = True
) -> Transactions:
    """Open (creating and migrating as needed) a store's database: a SQLite file, or a
    PostgreSQL database when ``location`` is a ``postgresql://`` URL.

    psycopg is imported only for a URL (the `postgres` extra), so a CLI on SQLite never pays for it.
    """
    if is_url(location):
        from stigmer.store.postgres import PostgresDatabase  # psycopg: only for a PostgreSQL URL

        return PostgresDatabase.open(str(location), durability=durability, migrate_schema=migrate_schema)
    return Database.open(location, durability=durability, migrate_schema=migrate_schema)


def corrupt(path: str, exc: BaseException) -> StigmerError:
    """The error for a database file SQLite cannot read."""
    return DatabaseCorrupt(
        f"the database {path} is damaged or is not a Stigmer database ({exc})",
        hint=f"move it aside (mv {path} {path}.broken), then `stigmer init` and restore your last "
        "export: `stigmer import -f EXPORT.yaml` (exports are made with `stigmer export --all`)",
    )


def _private_file(path: Path) -> None:
    """Create the database file (and its directory) readable by its owner only.

    SQLite gives its -wal and -shm files the database file's permissions.
    """
    try:
        # exist_ok: several processes may open a fresh home at once.
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except (NotADirectoryError, FileExistsError):  # FileExistsError: the home itself is a file
        raise InvalidArgument(
            f"cannot keep a database at {path}: a part of that path is a file, not a directory",
            hint="choose another home (--home DIR or STIGMER_HOME) or database path",
        ) from None
    except OSError as exc:
        raise InvalidArgument(
            f"cannot create the database {path}: {exc.strerror}",
            hint="choose another home (--home DIR or STIGMER_HOME) or database path",
        ) from None


__all__ = ["BUSY_TIMEOUT_MS", "SYNCHRONOUS", "Database", "corrupt", "open_database"]
