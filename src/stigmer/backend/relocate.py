"""Moving a store: every row of one database (a SQLite file or PostgreSQL) into another that is
empty, in one transaction; what `stigmer migrate` does."""

from __future__ import annotations

from pathlib import Path

from stigmer.errors import Conflict, InvalidArgument, NotFound
from stigmer.store.connection import is_url, redacted
from stigmer.store.database import open_database
from stigmer.store.transfer import Copied, copy_rows_txn, row_counts


def _location(location: str) -> str:
    return location if is_url(location) else str(Path(location).expanduser().absolute())


def copy_store(source: str, target: str, *, durability: str = "full") -> Copied:
    """Copy the store at ``source`` into the empty store at ``target`` (created and migrated
    as needed): resources, history, executions and their steps, artifacts, API keys, sign-ins
    and trigger fires, with secrets still sealed by the same master key.

    The copy reads one snapshot of the source and writes the target in one transaction: all
    or nothing. Writes to the source after its snapshot are not copied (stop its servers and
    workers first).

    Raises:
        InvalidArgument: Source and target are the same.
        NotFound: The source is a SQLite file that does not exist.
        Conflict: The target holds rows already (nothing is written).
    """
    source, target = _location(source), _location(target)
    if source == target:
        raise InvalidArgument(
            f"the store is already at {redacted(target)}", field="--to", hint="name another database"
        )
    if not is_url(source) and not Path(source).exists():
        raise NotFound(f"there is no store at {source}", hint="name the store to copy with --from")
    origin = open_database(source, durability=durability)
    try:
        destination = open_database(target, durability=durability)
        try:
            with origin.read() as reading, destination.write() as writing:
                held = {table: n for table, n in row_counts(writing).items() if n}
                if held:
                    listed = ", ".join(f"{n} in {table}" for table, n in sorted(held.items()))
                    raise Conflict(
                        f"the target store {redacted(target)} is not empty ({listed}); nothing was copied",
                        hint="migrate into an empty database (createdb NAME), or drop and recreate this one",
                    )
                return copy_rows_txn(reading, writing)
        finally:
            destination.close()
    finally:
        origin.close()


__all__ = ["copy_store"]
