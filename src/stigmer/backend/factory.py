"""Open the backend a home's config selects."""

from __future__ import annotations

from stigmer.backend.protocol import Backend
from stigmer.config import Config, database_of, durability_of
from stigmer.errors import StigmerError


def missing_server_extra(exc: ImportError) -> StigmerError:
    """The error for a server-mode feature used without grpcio (and friends) installed."""
    return StigmerError(
        f"server mode needs the gRPC packages, which are not installed ({exc.name or exc})",
        hint="pip install 'stigmer[server]'",
    )


def open_backend(config: Config) -> Backend:
    """The configured backend: the home's store (``local``: its SQLite file, or the PostgreSQL
    database of ``database:`` or ``$STIGMER_DATABASE_URL``) or a `stigmer server` (``cloud``).

    grpc is imported only for a server, psycopg only for PostgreSQL.
    """
    if config.backend == "cloud":
        try:
            from stigmer.backend.remote import RemoteBackend
        except ImportError as exc:
            raise missing_server_extra(exc) from None
        return RemoteBackend.from_config(config)
    from stigmer.backend.local import LocalBackend
    from stigmer.secrets.keys import MasterKeys

    # Secrets are sealed with the home's master key, wherever the database is.
    return LocalBackend.open(
        database_of(config), keys=MasterKeys(config.home), durability=durability_of(config)
    )


__all__ = ["missing_server_extra", "open_backend"]
