"""The queue's depth: how many runs wait for a worker, read from the store through the Backend
(on SQLite and PostgreSQL, here and through a server) and shown as the gauge
``stigmer.executions.queued`` of the metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from stigmer.backend.protocol import Backend
from stigmer.config import TelemetrySettings
from stigmer.telemetry import metrics
from stigmer.telemetry.metrics import prometheus_text
from stigmer.telemetry.queue import QueueDepth
from tests.builders import agent, agent_execution, workflow, workflow_execution
from tests.cli.test_metrics import parse, value
from tests.clock import FakeClock


def queue(backend: Backend, agents: int, workflows: int) -> None:
    backend.apply([agent("echo", model="scripted"), workflow("hello")])
    for _ in range(agents):
        backend.create_execution(agent_execution("echo"))
    for _ in range(workflows):
        backend.create_execution(workflow_execution("hello"))


def test_the_queue_counts_the_runs_waiting_for_a_worker(backend: Backend, clock: FakeClock) -> None:
    assert backend.count_queued() == {"agent": 0, "workflow": 0}
    queue(backend, agents=2, workflows=1)
    assert backend.count_queued() == {"agent": 2, "workflow": 1}
    claimed = backend.claim_execution("worker-a", kinds=["AgentExecution"], lease_seconds=30)
    assert claimed is not None
    assert backend.count_queued() == {"agent": 1, "workflow": 1}
    # Its worker stopped renewing the lease: once it ran out, the run waits for a worker again.
    clock.advance(timedelta(seconds=60))
    assert backend.count_queued() == {"agent": 2, "workflow": 1}


class _Borrowed:
    """The test's backend, lent to a service that closes what it opened."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def close(self) -> None:
        pass


def test_the_queue_depth_is_a_gauge_of_the_metrics(backend: Backend) -> None:
    queue(backend, agents=2, workflows=0)
    service = QueueDepth(
        lambda: cast(Backend, _Borrowed(backend)), TelemetrySettings(export=False, metrics_port=0)
    )
    service.start()
    try:
        made = metrics.current()
        assert made is not None
        types, samples = parse(prometheus_text(made.collect()))
        assert types["stigmer_executions_queued"] == "gauge"
        assert value(samples, "stigmer_executions_queued", kind="agent") == 2
        assert value(samples, "stigmer_executions_queued", kind="workflow") == 0
        backend.claim_execution("worker-a", lease_seconds=30)
        _, samples = parse(prometheus_text(made.collect()))
        assert value(samples, "stigmer_executions_queued", kind="agent") == 1
    finally:
        service.stop()
        metrics.reset()
    assert service.count() == {}  # stopped: it reads nothing more
