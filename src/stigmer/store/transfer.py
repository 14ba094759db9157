"""Copying every row of one store into another (SQLite to PostgreSQL, or back), exactly.

Rows are copied as stored, column by column: sealed secrets stay sealed, history keeps its
order (``seq`` is copied too), steps, artifacts, API keys, sign-ins and trigger fires come
along. Generated columns are left to the target, which computes them. Both databases are at
the same schema version (opening them migrates them), so their tables and columns agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from stigmer.store.connection import Connection
from stigmer.store.records import _ident

# Rows per INSERT batch.
_BATCH = 500
_SKIPPED = frozenset({"schema_version"})


@dataclass
class Copied:
    """How many rows of each table were copied."""

    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def tables(conn: Connection) -> list[str]:
    """The store's tables, in the order they can be filled: a table another references comes
    first (``mcp_servers`` before ``mcp_sign_ins``), then by name."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    names = sorted(str(r[0]) for r in rows if str(r[0]) not in _SKIPPED)
    referencing = {"mcp_sign_ins"}  # the one table with a foreign key (migration 0008)
    return [n for n in names if n not in referencing] + [n for n in names if n in referencing]


def stored_columns(conn: Connection, table: str) -> list[str]:
    """The columns of ``table`` that hold data (not the generated ones), in order."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? AND is_generated = 'NEVER' ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0 ORDER BY cid", (table,)
        ).fetchall()
    return [str(r[0]) for r in rows]


def row_counts(conn: Connection) -> dict[str, int]:
    """How many rows each table holds."""
    return {t: int(conn.execute(f"SELECT count(*) FROM {_ident(t)}").fetchone()[0]) for t in tables(conn)}


def _batches(conn: Connection, table: str, columns: list[str]) -> Iterator[list[tuple[Any, ...]]]:
    order = "seq" if "seq" in columns else ", ".join(columns[:2])
    cursor = conn.execute(f"SELECT {', '.join(columns)} FROM {_ident(table)} ORDER BY {order}")
    batch: list[tuple[Any, ...]] = []
    for row in cursor:
        batch.append(tuple(row))
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def copy_rows_txn(source: Connection, target: Connection) -> Copied:
    """Copy every row of ``source`` into the (empty) ``target``, inside the caller's read
    transaction on the source and write transaction on the target."""
    copied = Copied()
    for table in tables(source):
        columns = stored_columns(target, table)
        marks = ", ".join("?" for _ in columns)
        insert = f"INSERT INTO {_ident(table)} ({', '.join(columns)}) VALUES ({marks})"
        count = 0
        for batch in _batches(source, table, columns):
            target.executemany(insert, batch)
            count += len(batch)
        copied.rows[table] = count
        if target.dialect.name == "postgresql" and "seq" in columns and count:
            # Rows came with their seq: the identity continues after the largest one.
            target.execute(
                f"SELECT setval(pg_get_serial_sequence('{_ident(table)}', 'seq'), "
                f"(SELECT max(seq) FROM {_ident(table)}))"
            )
    return copied


__all__ = ["Copied", "copy_rows_txn", "row_counts", "stored_columns", "tables"]
