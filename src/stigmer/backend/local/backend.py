"""LocalBackend: the Backend protocol on one SQLite file, composed of its parts.

Each part is a mixin over :class:`~stigmer.backend.local.base.LocalStore` in a module of
its own. A new part is a new module whose mixin joins the bases below (API keys: ``LocalApiKeys``,
not part of the Backend protocol).
"""

from __future__ import annotations

from stigmer.backend.local.api_keys import LocalApiKeys
from stigmer.backend.local.executions import LocalExecutions
from stigmer.backend.local.journal import LocalRunJournal
from stigmer.backend.local.prune import LocalPrune
from stigmer.backend.local.resources import LocalResources
from stigmer.backend.local.secrets import LocalSecrets
from stigmer.backend.local.sign_ins import LocalMcpSignIns


class LocalBackend(
    LocalResources, LocalSecrets, LocalMcpSignIns, LocalExecutions, LocalPrune, LocalRunJournal, LocalApiKeys
):
    """Every resource in one SQLite database (see docs/architecture.md, "The Backend parts").

    Args:
        db: An open database (see :meth:`open`).
        clock: Where "now" comes from; tests inject their own.
        actor: Who writes, recorded in the audit columns and history.
        keys: The master keys that seal secrets; by default those of the database's directory.
    """


__all__ = ["LocalBackend"]
