"""The Temporal engine: Stigmer's executions as Temporal workflows (imports ``temporalio``)."""

from stigmer.engine.temporal.activities import ENGINE_OWNER, StoreActivities
from stigmer.engine.temporal.control import bridge, connect, hand_over, heartbeat_seconds, submit
from stigmer.engine.temporal.devserver import DevServer
from stigmer.engine.temporal.worker import TemporalWorker, TemporalWorkerThread
from stigmer.engine.temporal.workflows import StigmerAgent, StigmerWorkflow

__all__ = [
    "ENGINE_OWNER",
    "DevServer",
    "StigmerAgent",
    "StigmerWorkflow",
    "StoreActivities",
    "TemporalWorker",
    "TemporalWorkerThread",
    "bridge",
    "connect",
    "hand_over",
    "heartbeat_seconds",
    "submit",
]
