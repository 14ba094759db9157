"""Handing runs to Temporal: connect, submit, wake, cancel.

A run the Temporal engine takes is held in the store by the lease ``engine:temporal``
(see :mod:`stigmer.store.leases`) and becomes a Temporal workflow whose id is the run's.
Whatever happens to the run in the store afterwards (a person decides its approval, or
someone cancels it, through the CLI, the SDK or a server) queues it again under that
lease; the **bridge** of every Temporal worker claims such runs, and new top-level runs,
and tells Temporal: it starts the workflow, or signals it (``wake``), or cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.protocol import RunJournal
from stigmer.clock import utcnow
from stigmer.config import TelemetrySettings, TemporalSettings
from stigmer.errors import Conflict, StigmerError
from stigmer.resources.kinds import Execution
from stigmer.store.leases import ENGINE_LEASE_SECONDS
from stigmer.telemetry.export import run_started

from .activities import ENGINE_OWNER

HEARTBEAT_VARIABLE = "STIGMER_TEMPORAL_HEARTBEAT_SECONDS"
# A run continues as a new Temporal run (continue-as-new) past this many history events;
# unset: when Temporal suggests it (its history nears the size Temporal allows).
HISTORY_VARIABLE = "STIGMER_TEMPORAL_HISTORY_EVENTS"
DEFAULT_HEARTBEAT_SECONDS = 20.0
BRIDGE_POLL_SECONDS = 0.2
log = logging.getLogger("stigmer.engine.temporal")


def heartbeat_seconds() -> float:
    """How long Temporal waits for a long activity's heartbeat before it tries the activity on
    another worker (``$STIGMER_TEMPORAL_HEARTBEAT_SECONDS``, default 20): how soon the work
    of a dead worker goes on elsewhere."""
    return float(os.environ.get(HEARTBEAT_VARIABLE, "") or DEFAULT_HEARTBEAT_SECONDS)


async def connect(settings: TemporalSettings) -> Client:
    """A client of the Temporal server in ``settings``.

    Raises:
        StigmerError: The server cannot be reached.
    """
    try:
        return await Client.connect(settings.address, namespace=settings.namespace)
    except RuntimeError as exc:
        raise StigmerError(
            f"cannot reach the Temporal server at {settings.address}: {exc}",
            hint="start one (`temporal server start-dev`, or `stigmer worker --temporal dev`), or set "
            "temporal.address in config.yaml (or STIGMER_TEMPORAL_ADDRESS)",
        ) from None


async def hand_over(
    client: Client, backend: RunJournal, execution: Execution, settings: TemporalSettings
) -> None:
    """Tell Temporal about a run this engine holds: start its workflow (or wake the one that
    runs it), or cancel it when a cancel was asked."""
    execution_id = execution.metadata.id
    if execution.status.cancel_requested:
        try:
            await client.get_workflow_handle(execution_id).cancel()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            _end_cancelled(backend, execution)  # it never reached Temporal
        return
    kind = "StigmerAgent" if isinstance(execution, AgentExecution) else "StigmerWorkflow"
    await client.start_workflow(
        kind,
        {
            "executionId": execution_id,
            "heartbeatSeconds": heartbeat_seconds(),
            "historyEvents": int(os.environ.get(HISTORY_VARIABLE, "") or 0),
        },
        id=execution_id,
        task_queue=settings.task_queue,
        start_signal="wake",
    )


def _end_cancelled(backend: RunJournal, execution: Execution) -> None:
    status = execution.status
    status.phase = ExecutionPhase.CANCELLED
    status.error.code, status.error.message = "CANCELLED", "cancelled before it started"
    status.end_time.FromDatetime(utcnow())
    if isinstance(execution, AgentExecution):
        execution.status.ClearField("messages")
        execution.status.ClearField("tool_calls")
    else:
        execution.status.ClearField("tasks")
    backend.update_execution_status(execution, worker_id=ENGINE_OWNER)


async def submit(
    client: Client,
    backend: RunJournal,
    execution_id: str,
    settings: TemporalSettings,
    telemetry: TelemetrySettings | None = None,
) -> None:
    """Hand one run to Temporal now: a new one, one queued again (a decision, a cancel), or one
    whose worker died (counted in ``telemetry``'s metrics as started, or taken over).

    Raises:
        Conflict: A live worker of the local engine runs it, or it is finished or waiting.
    """
    claimed = backend.claim_execution(
        ENGINE_OWNER, execution_id=execution_id, lease_seconds=ENGINE_LEASE_SECONDS
    )
    if claimed is None:
        raise Conflict(
            f"execution {execution_id} is being run by a worker of the local engine",
            hint=f"follow it with `stigmer execution logs {execution_id} -f`",
        )
    run_started(claimed, telemetry)
    await hand_over(client, backend, claimed, settings)


async def workflow_end(client: Client, execution_id: str) -> None:
    """Return when the run's Temporal workflow has closed, however it ended (its last act
    wrote the run's final record), or at once when there is none to wait for."""
    # One long poll of the workflow's history (across continue-as-new), not a poll loop.
    with contextlib.suppress(WorkflowFailureError, RPCError):
        await client.get_workflow_handle(execution_id).result()


async def bridge(
    client: Client,
    backend: RunJournal,
    settings: TemporalSettings,
    stop: asyncio.Event,
    *,
    poll_seconds: float = BRIDGE_POLL_SECONDS,
    telemetry: TelemetrySettings | None = None,
) -> None:
    """Until ``stop``: claim every queued top-level run (new ones, the ones this engine holds
    that were queued again, and those whose worker died) and hand it to Temporal; each claim
    counts in ``telemetry``'s metrics as a run started (or taken over), as a local worker's does."""
    while not stop.is_set():
        try:
            claimed = backend.claim_execution(ENGINE_OWNER, lease_seconds=ENGINE_LEASE_SECONDS)
        except StigmerError as exc:
            log.warning("the bridge cannot read the store: %s", exc)
            claimed = None
        if claimed is not None:
            run_started(claimed, telemetry)
            try:
                await hand_over(client, backend, claimed, settings)
            except (RPCError, RuntimeError, StigmerError) as exc:
                # Given back: the run is claimable again, and handed over at a later turn.
                log.warning("could not hand %s to Temporal: %s", claimed.metadata.id, exc)
                backend.release_execution(claimed.metadata.id, ENGINE_OWNER)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)


__all__ = ["bridge", "connect", "hand_over", "heartbeat_seconds", "submit", "workflow_end"]
