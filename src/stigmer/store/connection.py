"""What the store's SQL runs on: a connection of either database, and the little that differs.

The functions of :mod:`stigmer.store` take a :class:`Connection` and write one SQL for both
stores: ``?`` placeholders, ``ON CONFLICT`` upserts, ``RETURNING``, row comparisons. The
PostgreSQL connection (:mod:`stigmer.store.postgres`) turns ``?`` into psycopg's ``%s``;
what cannot be written the same way (reading a key of a JSON document, a JSON parameter
whose type the database cannot infer) is asked of the connection's :class:`Dialect`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from stigmer.config import is_database_url, redacted

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9._/-]{1,253}$")
# How long a writer waits for another's write transaction before it fails (both stores).
BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Dialect:
    """What one database spells its own way."""

    name: Literal["sqlite", "postgresql"]
    # A placeholder for a JSON document where nothing tells the database its type
    # (a SELECT list feeding an INSERT).
    json_param: str
    # What ends a SELECT of a write transaction that reads rows to write them: they stay locked
    # until it ends. Nothing on SQLite, whose writers are serialised whole (BEGIN IMMEDIATE).
    for_update: str = ""
    # The same for a claim: rows another transaction holds are passed over, not waited for.
    skip_locked: str = ""

    def json_text(self, column: str, key: str) -> tuple[str, tuple[str, ...]]:
        """SQL for the text at a top-level ``key`` of the JSON ``column``, and its parameters.

        A plain key is written into the SQL, so that an expression index on it applies
        (see migration 0007); any other is a parameter.
        """
        if self.name == "postgresql":
            if _PLAIN_KEY.fullmatch(key):
                return f"({column} ->> '{key}')", ()
            return f"({column} ->> ?)", (key,)
        if _PLAIN_KEY.fullmatch(key):
            return f"json_extract({column}, '$.\"{key}\"')", ()
        return f"json_extract({column}, ?)", (f'$."{key}"',)


SQLITE = Dialect("sqlite", "?")
POSTGRESQL = Dialect("postgresql", "CAST(? AS json)", " FOR UPDATE", " FOR UPDATE SKIP LOCKED")


class Cursor(Protocol):
    """The result of one statement."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection inside a transaction of :class:`Transactions`."""

    dialect: Dialect

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Sequence[Sequence[Any]], /) -> Cursor: ...


class Transactions(Protocol):
    """A store's database: read and write transactions on it, and where it is.

    A read transaction sees one consistent snapshot. A write transaction is exact against
    every other writer (of every process on the same database) on what it locks: SQLite
    serialises writers whole; on PostgreSQL writers run in parallel and lock what they
    read-check-write (rows ``FOR UPDATE``, names with :mod:`stigmer.store.locks`), and an
    ``exclusive`` one (rare admin work that rewrites many rows) waits for every other writer
    and keeps them waiting. A read inside a write (or another read) of the same thread joins it.
    A read of one statement, or whose statements need not agree with each other, may go
    without a transaction (``snapshot=False``): on PostgreSQL that saves two round trips.
    """

    dialect: Dialect
    # Where the database is, for people: a file, or a URL without its password.
    path: str

    def read(self, *, snapshot: bool = True) -> AbstractContextManager[Connection]: ...

    def write(self, *, exclusive: bool = False) -> AbstractContextManager[Connection]: ...

    def close(self) -> None: ...


class SqliteConnection(sqlite3.Connection):
    """A sqlite3 connection that says which dialect it speaks (``sqlite3.connect(factory=…)``)."""

    dialect = SQLITE


def is_url(location: str | object) -> bool:
    """Whether a database location is a PostgreSQL URL (else it is a SQLite file)."""
    return isinstance(location, str) and is_database_url(location)


__all__ = [
    "BUSY_TIMEOUT_MS",
    "POSTGRESQL",
    "SQLITE",
    "Connection",
    "Cursor",
    "Dialect",
    "SqliteConnection",
    "Transactions",
    "is_url",
    "redacted",
]
