"""The PostgreSQL database: a psycopg connection pool, transactions, and migrations.

Imported only when a ``postgresql://`` URL is opened (:func:`stigmer.store.database.open_database`),
so that nothing else pays for psycopg.

Several processes (servers, workers, on several machines) share one database:

- **write transactions** run in parallel (READ COMMITTED), each exact on what it locks: a
  claim takes the oldest runnable execution ``FOR UPDATE SKIP LOCKED`` (passing over those
  another claimer holds); a read-check-write of one execution locks its row ``FOR UPDATE``;
  writes of named resources lock the names first (:mod:`stigmer.store.locks`), which covers
  names no row holds yet; versions are written with ``WHERE version = ?`` and unique
  constraints stand behind all of it. Every writer holds one advisory lock in shared mode;
  an ``exclusive`` writer (master-key rotation, import, API keys: rare admin work that
  rewrites many rows) holds it alone, so it runs as if it were the only writer. Reads take
  no lock and run in parallel, each in one REPEATABLE READ snapshot;
- **migrations** run in one transaction under another advisory lock: processes that start
  at once queue there, and the later ones find the work done;
- a process opens one pool per database (shared by every :class:`PostgresDatabase` of it, for
  instance one per server thread); a transaction borrows a connection for its duration.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast
from weakref import WeakKeyDictionary

import psycopg
from psycopg.adapt import PyFormat, Transformer
from psycopg.errors import error_from_result
from psycopg.pq import ConnStatus, ExecStatus
from psycopg.pq.abc import PGresult
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool, PoolTimeout

from stigmer.errors import Conflict, InvalidArgument, StigmerError, Unavailable
from stigmer.store.changes import CHANNEL
from stigmer.store.connection import BUSY_TIMEOUT_MS, POSTGRESQL, Cursor, redacted
from stigmer.store.migrations import LATEST, MIGRATIONS, Migration, check_not_newer, load_migrations

# Advisory lock keys (any 64-bit numbers, fixed forever): one for migrations, one for writers
# (shared by every writer, held alone by an exclusive one).
MIGRATION_LOCK = 0x5714_6D65_0000_0001
WRITE_LOCK = 0x5714_6D65_0000_0002
POOL_SIZE = 16
# Statements prepared on one connection at most (psycopg's own default is 100).
PREPARED_MAX = 200
CONNECT_TIMEOUT_SECONDS = 10
# `durability` as synchronous_commit: "full" waits for the commit's WAL flush, "normal" does
# not (a crashed Stigmer process loses nothing; a crashed database may lose the last commits).
SYNCHRONOUS_COMMIT = {"full": "on", "normal": "off"}

_TOKEN = re.compile(r"'(?:[^']|'')*'|\?|%")


@lru_cache(maxsize=4096)
def postgres_sql(sql: str) -> str:
    """The store's SQL with psycopg's placeholders: ``?`` outside string literals becomes
    ``%s``, and every ``%`` is doubled (psycopg reads ``%`` even inside literals)."""

    def token(match: re.Match[str]) -> str:
        text = match.group()
        if text == "?":
            return "%s"
        return text.replace("%", "%%")

    return _TOKEN.sub(token, sql)


@lru_cache(maxsize=4096)
def libpq_sql(sql: str) -> bytes:
    """The store's SQL with libpq's placeholders: the n-th ``?`` outside string literals
    becomes ``$n``."""
    number = 0

    def token(match: re.Match[str]) -> str:
        nonlocal number
        if match.group() != "?":
            return match.group()
        number += 1
        return f"${number}"

    return _TOKEN.sub(token, sql).encode()


class _Rows:
    """What a statement returned, read at once (a :class:`~stigmer.store.connection.Cursor`)."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


class _Statements:
    """One connection's statements, run through libpq with psycopg's own adapters.

    psycopg's cursor runs each statement through generators and a prepare manager that cost
    ~60 µs of CPU a statement more than the statement itself (measured: 100 µs a SELECT
    through ``Connection.execute``, 37 µs here), and a server spends most of a request's
    CPU there. The values are dumped and loaded by psycopg's :class:`Transformer` (in C), as
    the cursor would; a statement run twice is prepared (up to :data:`PREPARED_MAX` a
    connection; any further ones are sent whole each time).
    """

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self.transformer = Transformer(raw)
        self.seen: set[tuple[bytes, tuple[int, ...]]] = set()
        self.prepared: dict[tuple[bytes, tuple[int, ...]], bytes] = {}

    def execute(self, sql: str, parameters: Sequence[Any]) -> _Rows:
        pgconn, tx = self.raw.pgconn, self.transformer
        values = tx.dump_sequence(parameters, [PyFormat.AUTO] * len(parameters)) if parameters else []
        query, types = libpq_sql(sql), tuple(tx.types or ()) if parameters else ()
        key = (query, types)
        name = self.prepared.get(key)
        if name is None and key in self.seen and len(self.prepared) < PREPARED_MAX:
            name = f"stigmer_{len(self.prepared)}".encode()
            _checked(self.raw, pgconn.prepare(name, query, types))
            self.prepared[key] = name
        if name is not None:
            result = pgconn.exec_prepared(name, cast(Any, values), tx.formats if parameters else None)
        else:
            if len(self.seen) >= 4 * PREPARED_MAX:  # one-off statements (long IN lists): forget them
                self.seen.clear()
            self.seen.add(key)
            result = pgconn.exec_params(query, values, types, tx.formats if parameters else None)
        _checked(self.raw, result)
        tx.set_pgresult(result)
        rows = tx.load_rows(0, result.ntuples, tuple) if result.status == ExecStatus.TUPLES_OK else []
        tx.set_pgresult(None)
        return _Rows(rows, result.command_tuples or 0)


# The statements of each pooled connection, for as long as the pool keeps it.
_STATEMENTS: WeakKeyDictionary[psycopg.Connection[Any], _Statements] = WeakKeyDictionary()


def _checked(raw: psycopg.Connection[Any], result: PGresult) -> PGresult:
    """``result``, or the error psycopg would raise for it (OperationalError: the connection
    is lost)."""
    if result.status not in (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK):
        if raw.pgconn.status == ConnStatus.BAD:  # as psycopg says it: the connection is lost
            raise psycopg.OperationalError(result.error_message.decode(errors="replace").strip())
        raise error_from_result(result, encoding=raw.info.encoding)
    return result


class PostgresConnection:
    """A psycopg connection inside a transaction, speaking the store's SQL."""

    dialect = POSTGRESQL

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        statements = _STATEMENTS.get(raw)
        if statements is None:
            statements = _STATEMENTS[raw] = _Statements(raw)
        self._statements = statements

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        return self._statements.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Sequence[Sequence[Any]], /) -> Cursor:
        cursor = self.raw.cursor()
        cursor.executemany(postgres_sql(sql), parameters)  # rowcount: the sum over the parameters
        return cursor


def simple(raw: psycopg.Connection[Any], sql: str) -> None:
    """Run statements without parameters or results (BEGIN, COMMIT, a lock) straight through
    libpq: psycopg's cursor machinery costs ~17 µs of CPU a statement, more than the statement,
    and every transaction has two of them. libpq lets go of the GIL while it waits.

    Raises:
        psycopg.Error: The statement failed (the error psycopg would raise for it).
    """
    _checked(raw, raw.pgconn.exec_(sql.encode()))


def _configure(durability: str) -> Any:
    def configure(conn: psycopg.Connection[Any]) -> None:
        # JSON documents come back as the text that was stored, as from SQLite.
        conn.adapters.register_loader("json", TextLoader)
        conn.adapters.register_loader("jsonb", TextLoader)
        conn.execute(f"SET synchronous_commit = {SYNCHRONOUS_COMMIT[durability]}")
        # As SQLite's busy_timeout: a writer waits this long for the write lock, then fails.
        conn.execute(f"SET lock_timeout = {BUSY_TIMEOUT_MS}")
        # A transaction left open by a process that hangs (or a machine that vanished) is ended,
        # so its write lock cannot stop every other writer for longer than this.
        conn.execute(f"SET idle_in_transaction_session_timeout = {BUSY_TIMEOUT_MS}")

    return configure


def unreachable(url: str, exc: BaseException) -> StigmerError:
    """The error for a PostgreSQL database that cannot be reached."""
    return StigmerError(
        f"cannot open the PostgreSQL database {redacted(url)}: {str(exc).strip()}",
        hint="check the URL (postgresql://USER:PASSWORD@HOST:PORT/DATABASE), that the server is up "
        "and that the database exists (createdb NAME)",
    )


def postgres_migrations() -> list[Migration]:
    """PostgreSQL's migrations, checked against SQLite's: the same numbers and names.

    Raises:
        RuntimeError: The two lists differ (a migration was added to one store only).
    """
    found = load_migrations("postgresql")
    if [(m.version, m.name) for m in found] != [(m.version, m.name) for m in MIGRATIONS]:
        raise RuntimeError(
            "migrations/postgresql and migrations/sqlite must hold the same numbered migrations: "
            f"{[m.name for m in found]} against {[m.name for m in MIGRATIONS]}"
        )
    return found


def migrate(raw: psycopg.Connection[Any], location: str, *, target: int = LATEST) -> int:
    """Apply every pending migration up to ``target`` in one transaction; safe when
    processes race (they queue on an advisory lock). The schema version after it."""
    conn = PostgresConnection(raw)
    raw.execute("BEGIN")
    try:
        raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        version = check_not_newer(conn, location)
        if version < target:
            raw.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            for migration in postgres_migrations():
                if version < migration.version <= target:
                    raw.execute(migration.sql.encode())
                    raw.execute(
                        "INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                        (migration.version, migration.name, datetime.now(UTC).isoformat()),
                    )
                    version = migration.version
        raw.execute("COMMIT")
    except BaseException:
        with suppress(psycopg.Error):
            raw.execute("ROLLBACK")
        raise
    return version


class _Pools:
    """The process's connection pools, one per (URL, durability), closed with their last user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: dict[tuple[str, str], tuple[ConnectionPool[Any], int]] = {}

    def acquire(self, url: str, durability: str, migrate_schema: bool) -> ConnectionPool[Any]:
        key = (url, durability)
        with self._lock:
            if key in self._pools:
                shared, users = self._pools[key]
                self._pools[key] = (shared, users + 1)
                return shared
            try:
                with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS) as raw:
                    if migrate_schema:
                        migrate(raw, redacted(url))
                    else:
                        check_not_newer(PostgresConnection(raw), redacted(url))
            except psycopg.OperationalError as exc:
                raise unreachable(url, exc) from None
            pool: ConnectionPool[Any] = ConnectionPool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
                configure=_configure(durability),
                name=f"stigmer:{redacted(url)}",
                open=True,
            )
            self._pools[key] = (pool, 1)
            return pool

    def release(self, url: str, durability: str) -> None:
        key = (url, durability)
        with self._lock:
            pool, users = self._pools[key]
            if users > 1:
                self._pools[key] = (pool, users - 1)
                return
            del self._pools[key]
        pool.close()


POOLS = _Pools()


class PostgresDatabase:
    """A store's PostgreSQL database, shared by any number of processes.

    Transactions borrow a connection from the process's pool for this URL. A read inside
    another transaction of the same thread joins it (as on SQLite).
    """

    dialect = POSTGRESQL

    def __init__(self, url: str, durability: str, pool: ConnectionPool[Any]) -> None:
        self.url = url
        self.path = redacted(url)
        self.durability = durability
        self._pool: ConnectionPool[Any] | None = pool
        self._local = threading.local()

    @classmethod
    def open(cls, url: str, *, durability: str = "full", migrate_schema: bool = True) -> PostgresDatabase:
        """Open (migrating as needed) the database at ``url``.

        Raises:
            SchemaTooNew: A newer Stigmer migrated it; it is not modified.
            InvalidArgument: ``durability`` is neither ``full`` nor ``normal``.
            StigmerError: The database cannot be reached (the message says why).
        """
        if durability not in SYNCHRONOUS_COMMIT:
            raise InvalidArgument(
                f"invalid durability {durability!r}", field="durability", hint="use full or normal"
            )
        return cls(url, durability, POOLS.acquire(url, durability, migrate_schema))

    def _borrowed(self) -> ConnectionPool[Any]:
        if self._pool is None:
            raise RuntimeError(f"the database {self.path} is closed")
        return self._pool

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[PostgresConnection]:
        try:
            with self._borrowed().connection() as raw:
                conn = PostgresConnection(raw)
                simple(raw, begin)
                self._local.conn = conn
                try:
                    yield conn
                except BaseException:
                    self._local.conn = None
                    with suppress(psycopg.Error):  # a broken connection is discarded by the pool
                        simple(raw, "ROLLBACK")
                    raise
                self._local.conn = None
                simple(raw, "COMMIT")
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: BaseException) -> Unavailable:
        # The database went away, or stayed busy past the lock timeout.
        return Unavailable(
            f"the PostgreSQL database {self.path} is unavailable: {str(exc).strip()}",
            hint="check that it is up and reachable, then try again",
        )

    @contextmanager
    def write(self, *, exclusive: bool = False) -> Iterator[PostgresConnection]:
        """A write transaction, exact on what it locks (``exclusive``: against every writer of
        the database): committed on success, rolled back on error.

        Raises:
            Conflict: Another writer wrote the same thing at the same moment (a unique key
                taken, or a deadlock between two writers); nothing was written.
        """
        if getattr(self._local, "conn", None) is not None:
            raise RuntimeError("a write transaction cannot start inside another transaction")
        lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        try:
            with self._transaction(f"BEGIN; SELECT {lock}({WRITE_LOCK})") as conn:
                yield conn
        except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected) as exc:
            # The last line behind the locks: two writers raced where no lock stood between them.
            raise Conflict(
                f"another writer changed the same thing at the same moment; nothing was written "
                f"({str(exc).strip().splitlines()[0]})",
                hint="try again",
            ) from exc

    @contextmanager
    def read(self, *, snapshot: bool = True) -> Iterator[PostgresConnection]:
        """A read transaction: every query inside sees one consistent snapshot (``snapshot=False``:
        no transaction: for a read of one statement, or whose statements need not agree)."""
        current: PostgresConnection | None = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        if snapshot:
            with self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ") as conn:
                yield conn
            return
        try:
            with self._borrowed().connection() as raw:
                yield PostgresConnection(raw)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise self._unavailable(exc) from exc

    def close(self) -> None:
        """Give this database's share of the pool back (the last one closes it)."""
        if self._pool is not None:
            self._pool = None
            POOLS.release(self.url, self.durability)


class ChangeListener:
    """One LISTEN connection of a process: it wakes whoever subscribed to an execution when a
    write transaction of any process notifies that it changed (:mod:`stigmer.store.changes`).

    The connection is kept open by a daemon thread, and opened again when it drops; on every
    (re)connection every subscriber is woken, since changes may have gone unheard meanwhile.
    A subscriber's ``wake`` runs on that thread: it must be quick (set an event).
    """

    def __init__(self, url: str, *, retry_seconds: float = 1.0) -> None:
        self.url = url
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Callable[[], None]]] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stigmer-listen", daemon=True)

    def start(self) -> ChangeListener:
        self._thread.start()
        return self

    def subscribe(self, execution_id: str, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` whenever ``execution_id`` changes; returns what unsubscribes."""
        with self._lock:
            self._subscribers.setdefault(execution_id, set()).add(wake)

        def unsubscribe() -> None:
            with self._lock:
                wakes = self._subscribers.get(execution_id, set())
                wakes.discard(wake)
                if not wakes:
                    self._subscribers.pop(execution_id, None)

        return unsubscribe

    def _wake(self, execution_id: str | None) -> None:
        with self._lock:
            if execution_id is None:
                wakes = [w for ws in self._subscribers.values() for w in ws]
            else:
                wakes = list(self._subscribers.get(execution_id, ()))
        for wake in wakes:
            wake()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(
                    self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._wake(None)
                    while not self._stopped.is_set():
                        for notice in conn.notifies(timeout=0.5):
                            self._wake(notice.payload)
            except psycopg.Error:
                self._stopped.wait(self.retry_seconds)

    def close(self) -> None:
        """Stop listening (within half a second)."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(5)


__all__ = [
    "MIGRATION_LOCK",
    "POOL_SIZE",
    "WRITE_LOCK",
    "ChangeListener",
    "PostgresConnection",
    "PostgresDatabase",
    "migrate",
    "postgres_migrations",
    "postgres_sql",
    "simple",
]
