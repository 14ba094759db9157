"""Rows of the resource tables: read, insert, update, delete and keyset pages.

The store deals in :class:`Record` (metadata columns plus JSON documents) and knows
nothing of protobuf or of what a spec means. Functions whose name ends in ``_txn`` must
run inside the caller's write transaction (:meth:`Database.write`).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from stigmer.errors import InvalidArgument
from stigmer.store.changes import EXECUTION_TABLES, notify_txn
from stigmer.store.connection import Connection

JSON = dict[str, Any]
_IDENT = re.compile(r"^[a-z_]+$")
_COLUMNS = (
    "id, name, slug, version, labels, annotations, tags, spec, status, "
    "created_at, updated_at, created_by, updated_by, message"
)


@dataclass
class Record:
    """One stored resource."""

    id: str
    name: str
    slug: str
    version: int
    spec: JSON = field(default_factory=dict)
    status: JSON = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""
    created_by: str = ""
    updated_by: str = ""
    # The resource serialized by the layer above; opaque here.
    message: bytes = b""


def dumps(value: Any) -> str:
    """Compact JSON, the form every document is stored in."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _ident(name: str) -> str:
    # Table and column names come from code, never from users; checked all the same.
    if not _IDENT.match(name):
        raise ValueError(f"not an identifier: {name!r}")
    return name


def _record(row: Any, documents: bool = True) -> Record:
    if not documents and row[13]:
        # The layer above reads the serialized message: five json.loads a row saved (a list
        # of 1,000 agents spent a fifth of its time decoding documents nobody read).
        return Record(
            id=row[0],
            name=row[1],
            slug=row[2],
            version=row[3],
            created_at=row[9],
            updated_at=row[10],
            created_by=row[11],
            updated_by=row[12],
            message=row[13],
        )
    return Record(
        id=row[0],
        name=row[1],
        slug=row[2],
        version=row[3],
        labels=json.loads(row[4]),
        annotations=json.loads(row[5]),
        tags=json.loads(row[6]),
        spec=json.loads(row[7]),
        status=json.loads(row[8]),
        created_at=row[9],
        updated_at=row[10],
        created_by=row[11],
        updated_by=row[12],
        message=row[13] or b"",
    )


def _values(rec: Record) -> tuple[Any, ...]:
    return (
        rec.id,
        rec.name,
        rec.slug,
        rec.version,
        dumps(rec.labels),
        dumps(rec.annotations),
        dumps(rec.tags),
        dumps(rec.spec),
        dumps(rec.status),
        rec.created_at,
        rec.updated_at,
        rec.created_by,
        rec.updated_by,
        rec.message or None,
    )


def get(conn: Connection, table: str, *, id: str = "", slug: str = "", lock: bool = False) -> Record | None:
    """The record with this id (or, when no id is given, this slug), or None.

    With ``lock`` (inside a write transaction that will write it), the row stays locked until
    the transaction ends, and what is read is its latest committed version.
    """
    column, value = ("id", id) if id else ("slug", slug)
    suffix = conn.dialect.for_update if lock else ""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM {_ident(table)} WHERE {column} = ?{suffix}", (value,)
    ).fetchone()
    return _record(row) if row else None


def get_where(conn: Connection, table: str, column: str, value: str) -> Record | None:
    """The first record whose ``column`` equals ``value`` (an indexed column), or None."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM {_ident(table)} WHERE {_ident(column)} = ? LIMIT 1", (value,)
    ).fetchone()
    return _record(row) if row else None


def insert_txn(conn: Connection, table: str, rec: Record) -> None:
    """Insert a new record; the database's integrity error when the id or slug is taken."""
    conn.execute(
        f"INSERT INTO {_ident(table)} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _values(rec),
    )


def replace_txn(conn: Connection, table: str, rec: Record) -> None:
    """Insert a record or overwrite the one with the same id, exactly as given (for import)."""
    conn.execute(f"DELETE FROM {_ident(table)} WHERE id = ?", (rec.id,))
    insert_txn(conn, table, rec)


# What a write sets: every column, or (for a run's status writes, which change nothing else)
# the status ones. Columns left out of ``SET`` spare the indexes on them (an execution's label
# indexes), which SQLite rewrites for every column an ``UPDATE`` names.
_STATUS_COLUMNS = ("version", "status", "updated_at", "updated_by", "message")
_ALL_COLUMNS = ("name", "slug", "labels", "annotations", "tags", "spec", *_STATUS_COLUMNS)


def _column_value(rec: Record, column: str) -> object:
    value = getattr(rec, column)
    if column in ("labels", "annotations", "tags", "spec", "status"):
        return dumps(value)
    if column == "message":
        return value or None  # no serialized message: NULL, as the column has always held
    return value


def _update_txn(
    conn: Connection, table: str, rec: Record, columns: tuple[str, ...], expected_version: int
) -> bool:
    assignments = ", ".join(f"{column} = ?" for column in columns)
    cur = conn.execute(
        f"UPDATE {_ident(table)} SET {assignments} WHERE id = ? AND version = ?",
        (*(_column_value(rec, column) for column in columns), rec.id, expected_version),
    )
    if cur.rowcount != 1:
        return False
    if table in EXECUTION_TABLES:
        notify_txn(conn, rec.id)
    return True


def update_txn(conn: Connection, table: str, rec: Record, *, expected_version: int) -> bool:
    """Overwrite a record if its stored version is still ``expected_version``.

    Returns:
        False when the record is gone or was changed since (nothing is written).
    """
    return _update_txn(conn, table, rec, _ALL_COLUMNS, expected_version)


def update_status_txn(conn: Connection, table: str, rec: Record, *, expected_version: int) -> bool:
    """Overwrite only a record's status, version, update stamp and message (a run's status
    write), if its stored version is still ``expected_version``.

    Returns:
        False when the record is gone or was changed since (nothing is written).
    """
    return _update_txn(conn, table, rec, _STATUS_COLUMNS, expected_version)


def delete_txn(conn: Connection, table: str, id: str) -> bool:
    """Delete a record by id; False when there was none."""
    return conn.execute(f"DELETE FROM {_ident(table)} WHERE id = ?", (id,)).rowcount == 1


def delete_where_txn(conn: Connection, table: str, column: str, value: str) -> int:
    """Delete the records whose (indexed) ``column`` equals ``value``; how many there were."""
    return conn.execute(f"DELETE FROM {_ident(table)} WHERE {_ident(column)} = ?", (value,)).rowcount


def scan(conn: Connection, table: str, *, spec_field: str = "") -> list[Record]:
    """Every record of a table (optionally only those whose spec has ``spec_field`` set)."""
    clause, params = "", tuple[str, ...]()
    if spec_field:
        value, params = conn.dialect.json_text("spec", spec_field)
        clause = f"WHERE {value} IS NOT NULL"
    rows = conn.execute(f"SELECT {_COLUMNS} FROM {_ident(table)} {clause} ORDER BY seq", params).fetchall()
    return [_record(r) for r in rows]


def ids_by_slug(conn: Connection, wanted: Mapping[str, Sequence[str]]) -> dict[str, dict[str, str]]:
    """By table, the ids of the records with these slugs (missing ones are absent): one query
    for every table."""
    parts: list[str] = []
    params: list[str] = []
    for index, (table, slugs) in enumerate(wanted.items()):
        if slugs:
            marks = ", ".join("?" for _ in slugs)
            parts.append(f"SELECT {index}, slug, id FROM {_ident(table)} WHERE slug IN ({marks})")
            params.extend(slugs)
    found: dict[str, dict[str, str]] = {table: {} for table in wanted}
    if parts:
        tables = list(wanted)
        for index, slug, id in conn.execute(" UNION ALL ".join(parts), params).fetchall():
            found[tables[int(index)]][slug] = id
    return found


def any_with_spec_field(conn: Connection, table: str, field: str) -> bool:
    """Whether any record's spec has ``field`` set."""
    value, params = conn.dialect.json_text("spec", field)
    row = conn.execute(f"SELECT 1 FROM {_ident(table)} WHERE {value} IS NOT NULL LIMIT 1", params).fetchone()
    return row is not None


def count(conn: Connection, table: str) -> int:
    """How many records the table holds."""
    return int(conn.execute(f"SELECT count(*) FROM {_ident(table)}").fetchone()[0])


Order = Literal["slug", "newest"]


@dataclass
class PageRequest:
    """What to list: equality filters on (indexed) columns, label matches and a keyset cursor."""

    order: Order = "slug"
    limit: int = 50
    where: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    after: list[str] | None = None


def list_page(conn: Connection, table: str, req: PageRequest, *, documents: bool = True) -> list[Record]:
    """One page of records, in keyset order; never OFFSET, so every page costs the same.

    With ``documents=False``, a record that has its serialized message comes without its
    JSON documents (``spec``, ``status``, ``labels``, ``annotations``, ``tags`` left empty),
    for callers that read the message only.
    """
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in req.where.items():
        clauses.append(f"{_ident(column)} = ?")
        params.append(value)
    for key, value in req.labels.items():
        # A plain key is written into the SQL, so that an index on that label (0007) applies.
        label, label_params = conn.dialect.json_text("labels", key)
        clauses.append(f"{label} = ?")
        params.extend([*label_params, value])
    if req.order == "slug":
        if req.after:
            clauses.append("slug > ?")
            params.append(req.after[0])
        order_by = "slug"
    else:
        if req.after:
            clauses.append("(created_at, id) < (?, ?)")
            params.extend(req.after[:2])
        order_by = "created_at DESC, id DESC"
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM {_ident(table)} {where} ORDER BY {order_by} LIMIT ?", (*params, req.limit)
    ).fetchall()
    return [_record(r, documents) for r in rows]


def cursor_of(rec: Record, order: Order) -> list[str]:
    """The keyset position just after ``rec`` in the given order."""
    return [rec.slug] if order == "slug" else [rec.created_at, rec.id]


def encode_token(scope: str, position: list[str]) -> str:
    """An opaque page token bound to what was listed (kind and filters)."""
    raw = dumps({"s": scope, "p": position}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, scope: str) -> list[str] | None:
    """The position a page token points at.

    Raises:
        InvalidArgument: The token is malformed or was issued for another listing.
    """
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        position = data["p"]
        if data["s"] != scope or not isinstance(position, list):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument(
            "invalid page token",
            field="page_token",
            hint="pass the token from the previous page unchanged, with the same kind and filters",
        ) from None
    return [str(p) for p in position]


__all__ = [
    "JSON",
    "Order",
    "PageRequest",
    "Record",
    "any_with_spec_field",
    "count",
    "cursor_of",
    "decode_token",
    "delete_txn",
    "delete_where_txn",
    "dumps",
    "encode_token",
    "get",
    "get_where",
    "ids_by_slug",
    "insert_txn",
    "list_page",
    "replace_txn",
    "scan",
    "update_status_txn",
    "update_txn",
]
