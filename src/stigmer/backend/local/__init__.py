"""The Backend protocol on one SQLite file: :class:`LocalBackend` and its parts."""

from stigmer.backend.local.backend import LocalBackend
from stigmer.backend.local.base import LocalStore
from stigmer.backend.local.executions import LocalExecutions
from stigmer.backend.local.journal import LocalRunJournal, worker_is_gone
from stigmer.backend.local.prune import PRUNE_BATCH, LocalPrune
from stigmer.backend.local.resources import LocalResources
from stigmer.backend.local.secrets import LocalSecrets

__all__ = [
    "PRUNE_BATCH",
    "LocalBackend",
    "LocalExecutions",
    "LocalPrune",
    "LocalResources",
    "LocalRunJournal",
    "LocalSecrets",
    "LocalStore",
    "worker_is_gone",
]
