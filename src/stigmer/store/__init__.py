"""SQLite storage: the database, migrations, resource rows, history and artifacts."""

from stigmer.store.database import Database
from stigmer.store.records import PageRequest, Record

__all__ = ["Database", "PageRequest", "Record"]
