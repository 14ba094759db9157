"""Retention: finding old executions and deleting them with every row that belongs to them.

Only SQL lives here. Which phases count as finished, and which runs may go together, is
the caller's decision. Every query uses an index: ``*_finished`` (phase, updated_at, id)
for the old runs, ``*_parent`` for child runs, and the execution id columns of steps,
artifacts, contexts and history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from stigmer.store.connection import Connection
from stigmer.store.records import _ident

# Below SQLite's smallest limit on bound parameters (999 before 3.32).
_CHUNK = 500


@dataclass(frozen=True)
class OldRun:
    """An execution old enough to go: its id, when it was last written, and its parent."""

    id: str
    updated_at: str
    parent_id: str


@dataclass
class Removed:
    """How many rows belonging to executions went (or would go)."""

    steps: int = 0
    artifacts: int = 0


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _marks(ids: Sequence[str]) -> str:
    return ", ".join("?" for _ in ids)


def old_runs(
    conn: Connection,
    table: str,
    phases: Sequence[str],
    before: str,
    *,
    after: tuple[str, str] | None = None,
    limit: int = 500,
) -> list[OldRun]:
    """Executions in one of ``phases`` last written before ``before``, oldest first.

    Args:
        after: The (updated_at, id) keyset position of the last run of the previous page.
        limit: At most this many.
    """
    found: list[OldRun] = []
    # One range scan of the index per phase: each comes out in (updated_at, id) order.
    for phase in phases:
        params: list[str | int] = [phase, before]
        keyset = ""
        if after is not None:
            keyset = "AND (updated_at, id) > (?, ?) "
            params += list(after)
        rows = conn.execute(
            f"SELECT id, updated_at, coalesce(parent_execution_id, '') FROM {_ident(table)} "
            f"WHERE phase = ? AND updated_at < ? {keyset}ORDER BY updated_at, id LIMIT ?",
            (*params, limit),
        ).fetchall()
        found += [OldRun(str(r[0]), str(r[1]), str(r[2])) for r in rows]
    found.sort(key=lambda run: (run.updated_at, run.id))
    return found[:limit]


def children(conn: Connection, table: str, parent_ids: Sequence[str]) -> list[tuple[str, str, str]]:
    """(id, phase, parent id) of the executions in ``table`` whose parent is one of ``parent_ids``."""
    found: list[tuple[str, str, str]] = []
    for chunk in _chunks(parent_ids):
        rows = conn.execute(
            f"SELECT id, coalesce(phase, ''), parent_execution_id FROM {_ident(table)} "
            f"WHERE parent_execution_id IN ({_marks(chunk)})",
            chunk,
        ).fetchall()
        found += [(str(r[0]), str(r[1]), str(r[2])) for r in rows]
    return found


def existing(conn: Connection, table: str, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are in ``table``."""
    found: set[str] = set()
    for chunk in _chunks(ids):
        rows = conn.execute(f"SELECT id FROM {_ident(table)} WHERE id IN ({_marks(chunk)})", chunk)
        found.update(str(r[0]) for r in rows)
    return found


def count_owned(conn: Connection, execution_ids: Sequence[str]) -> Removed:
    """The steps and artifacts of these executions (what deleting them would remove)."""
    removed = Removed()
    for chunk in _chunks(execution_ids):
        marks = _marks(chunk)
        removed.steps += int(
            conn.execute(
                f"SELECT count(*) FROM execution_steps WHERE execution_id IN ({marks})", chunk
            ).fetchone()[0]
        )
        removed.artifacts += int(
            conn.execute(f"SELECT count(*) FROM artifacts WHERE execution_id IN ({marks})", chunk).fetchone()[
                0
            ]
        )
    return removed


def delete_txn(
    conn: Connection, table: str, kind: str, execution_ids: Sequence[str], *, context_table: str
) -> Removed:
    """Delete executions of one table with their steps, artifacts, context rows and history.

    Args:
        kind: The kind their history entries are filed under.
        context_table: The table of execution contexts (keyed by ``execution_id``).
    """
    keys = [(i,) for i in execution_ids]
    removed = Removed()
    removed.steps = conn.executemany("DELETE FROM execution_steps WHERE execution_id = ?", keys).rowcount
    removed.artifacts = conn.executemany("DELETE FROM artifacts WHERE execution_id = ?", keys).rowcount
    conn.executemany(f"DELETE FROM {_ident(context_table)} WHERE execution_id = ?", keys)
    conn.executemany(
        "DELETE FROM api_resource_versions WHERE resource_kind = ? AND resource_id = ?",
        [(kind, i) for i in execution_ids],
    )
    conn.executemany(f"DELETE FROM {_ident(table)} WHERE id = ?", keys)
    return removed


__all__ = ["OldRun", "Removed", "children", "count_owned", "delete_txn", "existing", "old_runs"]
