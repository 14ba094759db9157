"""The host of long-running processes (worker, retention, gRPC server, dashboard, API keys)."""

from stigmer.backend.keys import ApiKeyStore
from stigmer.host.host import Host, HostOptions, WorkerPlan
from stigmer.host.services import PRUNE_EVERY_SECONDS, Retention, Service

__all__ = ["PRUNE_EVERY_SECONDS", "ApiKeyStore", "Host", "HostOptions", "Retention", "Service", "WorkerPlan"]
