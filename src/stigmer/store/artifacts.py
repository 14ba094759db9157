"""Artifacts: blobs stored by executions, addressed by id and hashed with SHA-256."""

from __future__ import annotations

from dataclasses import dataclass

from stigmer.store.connection import Connection


@dataclass
class ArtifactRecord:
    """One stored blob."""

    id: str
    execution_id: str
    name: str
    content_type: str
    sha256: str
    size: int
    data: bytes
    created_at: str


def insert_txn(conn: Connection, art: ArtifactRecord) -> None:
    """Store an artifact."""
    conn.execute(
        "INSERT INTO artifacts (id, execution_id, name, content_type, sha256, size, data, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            art.id,
            art.execution_id,
            art.name,
            art.content_type,
            art.sha256,
            art.size,
            art.data,
            art.created_at,
        ),
    )


def get(conn: Connection, artifact_id: str) -> ArtifactRecord | None:
    """The artifact with this id, or None."""
    row = conn.execute(
        "SELECT id, execution_id, name, content_type, sha256, size, data, created_at "
        "FROM artifacts WHERE id = ?",
        (artifact_id,),
    ).fetchone()
    return ArtifactRecord(*row) if row else None


__all__ = ["ArtifactRecord", "get", "insert_txn"]
