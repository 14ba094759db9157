"""Durable execution steps: written once each, read back in order to replay a run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from stigmer.store.changes import notify_txn
from stigmer.store.connection import Connection
from stigmer.store.records import dumps


@dataclass
class StepRecord:
    """One step of one execution."""

    execution_id: str
    step: int
    name: str
    status: str
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    started_at: str = ""
    ended_at: str = ""


_COLUMNS = "execution_id, step, name, status, input, output, error, started_at, ended_at"


def upsert_txn(conn: Connection, rec: StepRecord) -> None:
    """Write a step; a step that was waiting (an approval, a child run) may be completed later."""
    conn.execute(
        f"INSERT INTO execution_steps ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (execution_id, step) DO UPDATE SET status = excluded.status, "
        "output = excluded.output, error = excluded.error, ended_at = excluded.ended_at",
        (
            rec.execution_id,
            rec.step,
            rec.name,
            rec.status,
            dumps(rec.input),
            dumps(rec.output),
            rec.error,
            rec.started_at,
            rec.ended_at,
        ),
    )
    notify_txn(conn, rec.execution_id)


def append_txn(conn: Connection, rec: StepRecord) -> int:
    """Write a step after the last one of its execution, in one statement; its number."""
    document = conn.dialect.json_param  # a SELECT list does not tell the database the type
    row = conn.execute(
        f"INSERT INTO execution_steps ({_COLUMNS}) "
        f"SELECT ?, coalesce(max(step), 0) + 1, ?, ?, {document}, {document}, ?, ?, ? "
        "FROM execution_steps WHERE execution_id = ? RETURNING step",
        (
            rec.execution_id,
            rec.name,
            rec.status,
            dumps(rec.input),
            dumps(rec.output),
            rec.error,
            rec.started_at,
            rec.ended_at,
            rec.execution_id,
        ),
    ).fetchone()
    notify_txn(conn, rec.execution_id)
    return int(row[0])


def get(conn: Connection, execution_id: str, step: int) -> StepRecord | None:
    """One step, or None."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM execution_steps WHERE execution_id = ? AND step = ?", (execution_id, step)
    ).fetchone()
    return _record(row) if row else None


def list_steps(conn: Connection, execution_id: str, *, after: int = 0) -> list[StepRecord]:
    """The steps of an execution after ``after``, in order."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM execution_steps WHERE execution_id = ? AND step > ? ORDER BY step",
        (execution_id, after),
    ).fetchall()
    return [_record(r) for r in rows]


def delete_txn(conn: Connection, execution_id: str) -> None:
    """Forget every step of an execution (when it is deleted)."""
    conn.execute("DELETE FROM execution_steps WHERE execution_id = ?", (execution_id,))


def _record(row: tuple[Any, ...]) -> StepRecord:
    return StepRecord(
        row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]), row[6], row[7], row[8]
    )


__all__ = ["StepRecord", "append_txn", "delete_txn", "get", "list_steps", "upsert_txn"]
