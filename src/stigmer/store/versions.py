"""Resource history: a snapshot of the whole resource after every write."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stigmer.store.connection import Connection
from stigmer.store.records import dumps


@dataclass
class VersionRecord:
    """One history entry."""

    id: str
    resource_kind: str
    resource_id: str
    resource_slug: str
    version: int
    operation: str
    snapshot: dict[str, Any]
    created_at: str
    created_by: str = ""


def record_txn(conn: Connection, entry: VersionRecord, *, replace: bool = False) -> None:
    """Write a history entry (``replace`` overwrites one with the same resource and version)."""
    if replace:
        conn.execute(
            "DELETE FROM api_resource_versions WHERE resource_kind = ? AND resource_id = ? AND version = ?",
            (entry.resource_kind, entry.resource_id, entry.version),
        )
    conn.execute(
        "INSERT INTO api_resource_versions (id, resource_kind, resource_id, resource_slug, version, "
        "operation, snapshot, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.id,
            entry.resource_kind,
            entry.resource_id,
            entry.resource_slug,
            entry.version,
            entry.operation,
            dumps(entry.snapshot),
            entry.created_at,
            entry.created_by,
        ),
    )


def history(conn: Connection, kind: str, *, resource_id: str = "", slug: str = "") -> list[VersionRecord]:
    """Every entry for one resource (by id), or for every resource that bore a slug, oldest first."""
    column, value = ("resource_id", resource_id) if resource_id else ("resource_slug", slug)
    rows = conn.execute(
        "SELECT id, resource_kind, resource_id, resource_slug, version, operation, snapshot, created_at, "
        f"created_by FROM api_resource_versions WHERE resource_kind = ? AND {column} = ? ORDER BY seq",
        (kind, value),
    ).fetchall()
    return [VersionRecord(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8]) for r in rows]


def snapshots_of_kind(conn: Connection, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(entry id, resource id, snapshot) of every history entry of a kind, oldest first."""
    rows = conn.execute(
        "SELECT id, resource_id, snapshot FROM api_resource_versions WHERE resource_kind = ? ORDER BY seq",
        (kind,),
    ).fetchall()
    return [(str(r[0]), str(r[1]), json.loads(r[2])) for r in rows]


def replace_snapshot_txn(conn: Connection, entry_id: str, snapshot: dict[str, Any]) -> None:
    """Rewrite the snapshot of one entry in place (re-sealing secrets; nothing else may do this)."""
    conn.execute("UPDATE api_resource_versions SET snapshot = ? WHERE id = ?", (dumps(snapshot), entry_id))


__all__ = ["VersionRecord", "history", "record_txn", "replace_snapshot_txn", "snapshots_of_kind"]
